//! Dawr counter button for the Raspberry Pi Pico W.
//!
//! Wiring:
//!
//! | Pico W pin | counter mode | rating mode |
//! |---|---|---|
//! | GP10 | – | face 1, very unhappy |
//! | GP11 | – | face 2 |
//! | GP12 | – | face 3 |
//! | GP13 | – | face 4 |
//! | GP14 | "next" button | face 5, very happy |
//! | GP15 | "recall" button | – |
//!
//! Buttons connect the pin to GND (internal pull-ups). Both modes share:
//!
//! | Pico W pin | connected to |
//! |---|---|
//! | GP4 (I²C0 SDA) | SSD1306 128×64 OLED, SDA |
//! | GP5 (I²C0 SCL) | SSD1306 128×64 OLED, SCL |
//! | 3V3, GND | OLED power |
//! | GP23, GP24, GP25, GP29 | the on-board CYW43439 Wi-Fi chip (fixed) |
//!
//! This file is the hardware edge only: tasks that read the buttons, run the Wi-Fi and network
//! stacks, move bytes between the TCP socket and the MQTT session, and draw frames. Every
//! decision is made by `dawr-firmware-logic`, which is tested on the host.
#![no_std]
#![no_main]

use cyw43::{JoinOptions, aligned_bytes};
use cyw43_pio::{DEFAULT_CLOCK_DIVIDER, PioSpi};
use dawr_firmware_logic::mqtt::{Incoming, Login, Session};
use dawr_firmware_logic::{Button, Device, Key, Mode, Press, screen};
use dawr_protocol::device::PresenceStatus;
use defmt::{info, unwrap, warn};
use embassy_executor::Spawner;
use embassy_futures::select::{Either3, select3};
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpEndpoint, Ipv4Address, Stack, StackResources};
use embassy_rp::clocks::RoscRng;
use embassy_rp::gpio::{Input, Level, Output, Pull};
use embassy_rp::i2c::{self, I2c};
use embassy_rp::peripherals::{DMA_CH0, I2C0, PIO0};
use embassy_rp::pio::{self, Pio};
use embassy_rp::{bind_interrupts, dma};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::{Duration, Instant, Timer};
use embedded_io_async::Write;
use ssd1306::mode::BufferedGraphicsModeAsync;
use ssd1306::prelude::*;
use ssd1306::{I2CDisplayInterface, Ssd1306Async};
use static_cell::StaticCell;
use {defmt_rtt as _, panic_probe as _};

/// The settings compiled in by `build.rs` (from `device.toml` or `DAWR_*` variables).
mod config {
    include!(concat!(env!("OUT_DIR"), "/device_config.rs"));
}

bind_interrupts!(struct Irqs {
    PIO0_IRQ_0 => pio::InterruptHandler<PIO0>;
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>;
    I2C0_IRQ => i2c::InterruptHandler<I2C0>;
});

/// Counter button or exit rating terminal, as built.
const MODE: Mode = if config::RATING_MODE { Mode::Rating } else { Mode::Counter };

/// MQTT keep-alive: the broker publishes the last will this long after the device goes silent.
const KEEP_ALIVE_S: u16 = 15;

/// Debounced presses, from the buttons task to the main loop.
static PRESSES: Channel<CriticalSectionRawMutex, (Key, Press), 8> = Channel::new();

type Screen = Ssd1306Async<
    I2CInterface<I2c<'static, I2C0, i2c::Async>>,
    DisplaySize128x64,
    BufferedGraphicsModeAsync<DisplaySize128x64>,
>;

fn now_ms() -> u64 {
    Instant::now().as_millis()
}

#[embassy_executor::task]
async fn wifi_task(runner: cyw43::Runner<'static, cyw43::SpiBus<Output<'static>, PioSpi<'static, PIO0, 0>>>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, cyw43::NetDriver<'static>>) -> ! {
    runner.run().await
}

/// Samples the buttons on GP10–GP15 every 5 ms; what each means depends on the mode.
#[embassy_executor::task]
async fn buttons_task(inputs: [Input<'static>; 6]) -> ! {
    let keys: [Option<Key>; 6] = match MODE {
        Mode::Counter => [None, None, None, None, Some(Key::Next), Some(Key::Recall)],
        Mode::Rating => [1, 2, 3, 4, 5, 0].map(|score| (score > 0).then_some(Key::Score(score))),
    };
    let mut debouncers = [const { Button::new() }; 6];
    loop {
        let now = now_ms();
        for ((key, button), input) in keys.iter().zip(&mut debouncers).zip(&inputs) {
            let Some(key) = key else { continue };
            if let Some(press) = button.sample(input.is_low(), now) {
                // A full queue means the main loop is stuck; dropping a press is the safe choice.
                let _ = PRESSES.try_send((*key, press));
            }
        }
        Timer::after_millis(5).await;
    }
}

async fn draw(display: &mut Screen, device: &Device<'_>) {
    let _ = screen::draw(&device.view(), display);
    if display.flush().await.is_err() {
        warn!("display flush failed");
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    info!("Dawr button: branch {} counter {}", config::BRANCH, config::COUNTER);

    let mut i2c_config = i2c::Config::default();
    i2c_config.frequency = 400_000;
    let i2c = I2c::new_async(p.I2C0, p.PIN_5, p.PIN_4, Irqs, i2c_config);
    let mut display = Ssd1306Async::new(I2CDisplayInterface::new(i2c), DisplaySize128x64, DisplayRotation::Rotate0)
        .into_buffered_graphics_mode();
    if display.init().await.is_err() {
        warn!("no SSD1306 display answered on I2C0");
    }

    // Every boot picks a random value, so command ids never repeat across reboots.
    let boot = RoscRng.next_u32();
    let settings = dawr_firmware_logic::Config {
        branch: config::BRANCH,
        counter: config::COUNTER,
        device: config::DEVICE_ID,
        mode: MODE,
    };
    let mut device = Device::new(settings, boot);
    draw(&mut display, &device).await;

    let buttons = [
        Input::new(p.PIN_10, Pull::Up),
        Input::new(p.PIN_11, Pull::Up),
        Input::new(p.PIN_12, Pull::Up),
        Input::new(p.PIN_13, Pull::Up),
        Input::new(p.PIN_14, Pull::Up),
        Input::new(p.PIN_15, Pull::Up),
    ];
    spawner.spawn(unwrap!(buttons_task(buttons)));

    // Wi-Fi: firmware and country table from the cyw43-firmware crate, NVRAM from build.rs.
    static FIRMWARE: cyw43::Aligned<cyw43::A4, [u8; cyw43_firmware::CYW43_43439A0.len()]> =
        cyw43::Aligned(*cyw43_firmware::CYW43_43439A0);
    let clm = cyw43_firmware::CYW43_43439A0_CLM;
    let nvram = aligned_bytes!(concat!(env!("OUT_DIR"), "/nvram.bin"));
    let pwr = Output::new(p.PIN_23, Level::Low);
    let cs = Output::new(p.PIN_25, Level::High);
    let mut pio = Pio::new(p.PIO0, Irqs);
    let spi = PioSpi::new(
        &mut pio.common,
        pio.sm0,
        DEFAULT_CLOCK_DIVIDER,
        pio.irq0,
        cs,
        p.PIN_24,
        p.PIN_29,
        dma::Channel::new(p.DMA_CH0, Irqs),
    );
    static WIFI_STATE: StaticCell<cyw43::State> = StaticCell::new();
    let (net_device, mut control, runner) =
        cyw43::new(WIFI_STATE.init(cyw43::State::new()), pwr, spi, &FIRMWARE, nvram).await;
    spawner.spawn(unwrap!(wifi_task(runner)));
    control.init(clm).await;
    control.set_power_management(cyw43::PowerManagementMode::PowerSave).await;

    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let net_config = embassy_net::Config::dhcpv4(Default::default());
    let (stack, runner) =
        embassy_net::new(net_device, net_config, RESOURCES.init(StackResources::new()), RoscRng.next_u64());
    spawner.spawn(unwrap!(net_task(runner)));

    while let Err(e) = control.join(config::WIFI_SSID, JoinOptions::new(config::WIFI_PASSWORD.as_bytes())).await {
        warn!("Wi-Fi join failed ({}); retrying", e);
        Timer::after_secs(2).await;
    }
    stack.wait_link_up().await;
    stack.wait_config_up().await;
    info!("network up");

    loop {
        run_session(stack, &mut device, &mut display).await;
        device.disconnected(now_ms());
        draw(&mut display, &device).await;
        Timer::after_secs(1).await;
    }
}

/// One connection to the broker, until it fails.
async fn run_session(stack: Stack<'static>, device: &mut Device<'_>, display: &mut Screen) {
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 1024];
    let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
    socket.set_timeout(Some(Duration::from_secs(u64::from(KEEP_ALIVE_S) * 2)));
    let [a, b, c, d] = config::BROKER_IP;
    let broker = IpEndpoint::new(Ipv4Address::new(a, b, c, d).into(), config::BROKER_PORT);
    if let Err(e) = socket.connect(broker).await {
        warn!("cannot reach the broker: {}", e);
        return;
    }
    let mut session = Session::new(KEEP_ALIVE_S);
    let mut out = [0u8; 1024];
    let will = device.presence(PresenceStatus::Offline);
    let login = Login::new(config::DEVICE_ID, config::MQTT_USERNAME, config::MQTT_PASSWORD);
    let Ok(n) = session.connect(login, (will.topic.as_str(), &will.payload), now_ms(), &mut out) else {
        return;
    };
    if socket.write_all(&out[..n]).await.is_err() {
        return;
    }

    let mut inbox = [0u8; 2048];
    let mut filled = 0usize;
    let mut subscribed = false;
    loop {
        // Handle every complete packet already received.
        loop {
            let now = now_ms();
            let received = match session.receive(&inbox[..filled], now, &mut out) {
                Ok(r) => r,
                Err(e) => {
                    warn!("MQTT session ended: {}", defmt::Debug2Format(&e));
                    return;
                }
            };
            let (consumed, reply_len) = (received.consumed, received.reply);
            if consumed == 0 {
                break;
            }
            let mut send = heapless::Vec::<dawr_firmware_logic::Outgoing, 2>::new();
            match received.incoming {
                Incoming::Connected => {
                    let [reply, state] = device.subscriptions();
                    let Ok(n) = session.subscribe(&[reply.as_str(), state.as_str()], now, &mut out) else { return };
                    if socket.write_all(&out[..n]).await.is_err() {
                        return;
                    }
                }
                Incoming::Subscribed if !subscribed => {
                    subscribed = true;
                    let _ = send.push(device.presence(PresenceStatus::Online));
                    if let Some(again) = device.connected(now) {
                        let _ = send.push(again);
                    }
                }
                Incoming::Message { topic, payload } => device.received(topic, payload, now),
                _ => {}
            }
            if reply_len > 0 && socket.write_all(&out[..reply_len]).await.is_err() {
                return;
            }
            inbox.copy_within(consumed..filled, 0);
            filled -= consumed;
            for message in send {
                if !publish(&mut session, &mut socket, &message).await {
                    return;
                }
            }
            draw(display, device).await;
        }
        if filled == inbox.len() {
            warn!("an MQTT packet larger than the buffer; reconnecting");
            return;
        }

        match select3(socket.read(&mut inbox[filled..]), PRESSES.receive(), Timer::after_millis(100)).await {
            Either3::First(Ok(0)) | Either3::First(Err(_)) => return,
            Either3::First(Ok(n)) => filled += n,
            Either3::Second((key, press)) => {
                if let Some(command) = device.press(key, press, now_ms())
                    && !publish(&mut session, &mut socket, &command).await
                {
                    return;
                }
                draw(display, device).await;
            }
            Either3::Third(()) => {
                let now = now_ms();
                if let Some(retry) = device.tick(now)
                    && !publish(&mut session, &mut socket, &retry).await
                {
                    return;
                }
                match session.poll(now, &mut out) {
                    Ok(0) => {}
                    Ok(n) => {
                        if socket.write_all(&out[..n]).await.is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
                draw(display, device).await;
            }
        }
    }
}

/// Publishes one message (QoS 1); false if the connection failed.
async fn publish(session: &mut Session, socket: &mut TcpSocket<'_>, message: &dawr_firmware_logic::Outgoing) -> bool {
    let mut out = [0u8; 1024];
    match session.publish(&message.topic, &message.payload, message.retain, now_ms(), &mut out) {
        Ok(n) => socket.write_all(&out[..n]).await.is_ok(),
        Err(_) => false,
    }
}
