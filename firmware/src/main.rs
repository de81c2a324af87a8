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
//! stacks, move bytes between the TCP socket and the MQTT session, draw frames, and answer the
//! USB serial port (provisioning: settings written into the last flash sector), and take
//! over-the-air updates ([`ota`]: embassy-boot's slots, the bootloader in `bootloader/`). Every
//! decision is made by `dawr-firmware-logic`, which is tested on the host.
#![no_std]
#![no_main]

mod ota;

use core::cell::RefCell;

use cyw43::{JoinOptions, aligned_bytes};
use cyw43_pio::{DEFAULT_CLOCK_DIVIDER, PioSpi};
use dawr_firmware_logic::mqtt::{Incoming, Login, Session};
use dawr_firmware_logic::provision::{self, LineBuffer};
use dawr_firmware_logic::settings::{Language, MAX_RECORD, Settings};
use dawr_firmware_logic::update_link::UpdateLink;
use dawr_firmware_logic::wifi::{Rejoin, WifiState};
use dawr_firmware_logic::{Button, Device, Key, Mode, Press, reset_reason, screen};
use defmt::{info, unwrap, warn};
use embassy_executor::Spawner;
use embassy_futures::select::{Either3, select3};
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpEndpoint, Ipv4Address, Stack, StackResources};
use embassy_rp::clocks::RoscRng;
use embassy_rp::flash::ERASE_SIZE;
use embassy_rp::gpio::{Input, Level, Output, Pull};
use embassy_rp::i2c::{self, I2c};
use embassy_rp::peripherals::{DMA_CH0, I2C0, PIO0, USB};
use embassy_rp::pio::{self, Pio};
use embassy_rp::usb;
use embassy_rp::watchdog::{ResetReason as ChipReset, Watchdog};
use embassy_rp::{bind_interrupts, dma};
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::{Duration, Instant, Timer, with_timeout};
use embassy_usb::class::cdc_acm;
use embassy_usb::driver::EndpointError;
use embedded_io_async::Write;
use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use ota::{Dog, GuardedFlash, SharedFlash};
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
    USBCTRL_IRQ => usb::InterruptHandler<USB>;
    PIO0_IRQ_0 => pio::InterruptHandler<PIO0>;
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>;
    I2C0_IRQ => i2c::InterruptHandler<I2C0>;
});

/// The flash chip's size. Its map (the slots, the update record, the settings in the last 4 KB)
/// is in app-memory.x.
const FLASH_SIZE: usize = 2 * 1024 * 1024;

type UsbDriver = usb::Driver<'static, USB>;

/// The settings built in (`device.toml`): used until a valid record is written into flash.
fn built_in() -> Settings<'static> {
    Settings {
        wifi_ssid: config::WIFI_SSID,
        wifi_password: config::WIFI_PASSWORD,
        broker_ip: config::BROKER_IP,
        broker_port: config::BROKER_PORT,
        branch: config::BRANCH,
        counter: config::COUNTER,
        device_id: config::DEVICE_ID,
        mqtt_username: config::MQTT_USERNAME,
        mqtt_password: config::MQTT_PASSWORD,
        mode: if config::RATING_MODE { Mode::Rating } else { Mode::Counter },
        language: Language::Arabic,
    }
}

/// MQTT keep-alive: the broker publishes the last will this long after the device goes silent.
const KEEP_ALIVE_S: u16 = 15;

/// The hardware watchdog restarts the chip when the main loop has not fed it for this long
/// (the RP2040's longest period is 8.3 s). Every wait in the main loop is shorter.
const WATCHDOG_TIMEOUT: Duration = Duration::from_secs(8);
/// A Wi-Fi join that has not finished by then is abandoned (and retried after the back-off).
const JOIN_TIMEOUT: Duration = Duration::from_secs(6);
/// How long a joined chip waits for its DHCP lease (in 1 s steps, feeding the watchdog).
const DHCP_TIMEOUT: Duration = Duration::from_secs(20);
/// TCP connect to the broker.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One socket write (a broker that stopped reading must not stop the main loop).
const WRITE_TIMEOUT: Duration = Duration::from_secs(4);

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
async fn buttons_task(inputs: [Input<'static>; 6], mode: Mode) -> ! {
    let keys: [Option<Key>; 6] = match mode {
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
    // The watchdog runs from here on; the main loop feeds it while it progresses, and so does
    // each flash operation (an erase blocks the main loop; ota.rs).
    let watchdog = Watchdog::new(p.WATCHDOG);
    let chip_reset = watchdog.reset_reason();
    let reset = reset_reason(chip_reset == Some(ChipReset::TimedOut), chip_reset == Some(ChipReset::Forced));
    let mut watchdog = ota::start_watchdog(watchdog);

    // The flash, shared by provisioning and updates.
    static FLASH: StaticCell<SharedFlash> = StaticCell::new();
    let flash: &'static SharedFlash = FLASH.init(Mutex::new(RefCell::new(GuardedFlash::new(p.FLASH))));

    // Settings: the flash record if there is a valid one, else those built in.
    static SECTOR: StaticCell<[u8; MAX_RECORD]> = StaticCell::new();
    let sector = SECTOR.init([0xFF; MAX_RECORD]);
    if flash.lock(|f| f.borrow_mut().read(ota::settings_offset(), sector)).is_err() {
        warn!("cannot read the settings sector");
    }
    let sector: &'static [u8] = sector;
    let (settings, refused) = Settings::or_defaults(sector, built_in());
    match refused {
        None => info!("settings from flash"),
        Some(why) => info!("built-in settings (flash: {})", defmt::Debug2Format(&why)),
    }
    info!("Dawr button {}: branch {} counter {}", settings.device_id, settings.branch, settings.counter);
    start_usb(&spawner, p.USB, flash, settings.device_id);

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
    let identity = dawr_firmware_logic::Config {
        branch: settings.branch,
        counter: settings.counter,
        device: settings.device_id,
        mode: settings.mode,
    };
    let mut device = Device::new(identity, boot).with_reset_reason(reset).with_firmware(env!("CARGO_PKG_VERSION"));
    draw(&mut display, &device).await;

    let buttons = [
        Input::new(p.PIN_10, Pull::Up),
        Input::new(p.PIN_11, Pull::Up),
        Input::new(p.PIN_12, Pull::Up),
        Input::new(p.PIN_13, Pull::Up),
        Input::new(p.PIN_14, Pull::Up),
        Input::new(p.PIN_15, Pull::Up),
    ];
    spawner.spawn(unwrap!(buttons_task(buttons, settings.mode)));

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
    watchdog.feed(WATCHDOG_TIMEOUT);
    control.init(clm).await;
    // Updates write flash: only once the Wi-Fi firmware and CLM (read from flash by DMA) are
    // loaded, as no DMA may read flash while it is erased or written.
    spawner.spawn(unwrap!(ota::update_task(flash, env!("CARGO_PKG_VERSION"))));
    control.set_power_management(cyw43::PowerManagementMode::PowerSave).await;

    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let net_config = embassy_net::Config::dhcpv4(Default::default());
    let (stack, runner) =
        embassy_net::new(net_device, net_config, RESOURCES.init(StackResources::new()), RoscRng.next_u64());
    spawner.spawn(unwrap!(net_task(runner)));

    let mut rejoin = Rejoin::new(boot);
    loop {
        watchdog.feed(WATCHDOG_TIMEOUT);
        if rejoin.state() != WifiState::Joined {
            if matches!(rejoin.state(), WifiState::Rejoining { .. }) {
                device.wifi_lost();
                draw(&mut display, &device).await;
            }
            join_wifi(&mut control, stack, &settings, &mut rejoin, &mut watchdog).await;
            device.wifi_joined();
            draw(&mut display, &device).await;
        }
        // The signal as the session starts, for its presence (the repeats carry this value too).
        device.set_rssi(Some(control.get_rssi().await));
        let ended = run_session(stack, &settings, &mut device, &mut display, &mut watchdog).await;
        device.disconnected(now_ms());
        match ended {
            Ended::LinkDown => {
                warn!("Wi-Fi link lost");
                rejoin.link_lost(now_ms());
            }
            Ended::Unreachable if rejoin.broker_failed(now_ms()) => {
                warn!("the broker is unreachable again and again: joining the Wi-Fi again");
            }
            Ended::Unreachable => {}
            Ended::Connected => rejoin.broker_connected(),
        }
        if rejoin.state() != WifiState::Joined {
            control.leave().await;
        }
        draw(&mut display, &device).await;
        Timer::after_secs(1).await;
    }
}

/// Joins the Wi-Fi and waits for DHCP, with back-off between attempts; returns once both are up.
/// Every wait is bounded, and the watchdog is fed between them.
async fn join_wifi(
    control: &mut cyw43::Control<'static>,
    stack: Stack<'static>,
    settings: &Settings<'_>,
    rejoin: &mut Rejoin,
    watchdog: &mut Dog,
) {
    loop {
        while !rejoin.join_due(now_ms()) {
            watchdog.feed(WATCHDOG_TIMEOUT);
            Timer::after_millis(rejoin.wait_ms(now_ms()).min(1_000)).await;
        }
        watchdog.feed(WATCHDOG_TIMEOUT);
        let options = if settings.wifi_password.is_empty() {
            JoinOptions::new_open()
        } else {
            JoinOptions::new(settings.wifi_password.as_bytes())
        };
        match with_timeout(JOIN_TIMEOUT, control.join(settings.wifi_ssid, options)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                warn!("Wi-Fi join failed ({})", e);
                rejoin.join_failed(now_ms());
                continue;
            }
            Err(_) => {
                warn!("Wi-Fi join timed out");
                control.leave().await;
                rejoin.join_failed(now_ms());
                continue;
            }
        }
        // DHCP: a lease within DHCP_TIMEOUT, else leave and join again.
        let deadline = Instant::now() + DHCP_TIMEOUT;
        while !(stack.is_link_up() && stack.is_config_up()) && Instant::now() < deadline {
            watchdog.feed(WATCHDOG_TIMEOUT);
            let _ = with_timeout(Duration::from_secs(1), stack.wait_config_up()).await;
        }
        if stack.is_link_up() && stack.is_config_up() {
            info!("network up");
            rejoin.joined();
            return;
        }
        warn!("no DHCP lease; joining again");
        control.leave().await;
        rejoin.join_failed(now_ms());
    }
}

/// How a broker session ended.
enum Ended {
    /// The broker could not be reached (or refused the login).
    Unreachable,
    /// It was connected, then the connection closed or failed.
    Connected,
    /// The chip reports the Wi-Fi link down.
    LinkDown,
}

/// One connection to the broker, until it fails. The watchdog is fed on every pass of its loop,
/// which wakes at least every 100 ms; every socket write is bounded by [`WRITE_TIMEOUT`].
async fn run_session(
    stack: Stack<'static>,
    settings: &Settings<'_>,
    device: &mut Device<'_>,
    display: &mut Screen,
    watchdog: &mut Dog,
) -> Ended {
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 1024];
    let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
    socket.set_timeout(Some(Duration::from_secs(u64::from(KEEP_ALIVE_S) * 2)));
    let [a, b, c, d] = settings.broker_ip;
    let broker = IpEndpoint::new(Ipv4Address::new(a, b, c, d).into(), settings.broker_port);
    match with_timeout(CONNECT_TIMEOUT, socket.connect(broker)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            warn!("cannot reach the broker: {}", e);
            return if stack.is_link_up() { Ended::Unreachable } else { Ended::LinkDown };
        }
        Err(_) => {
            warn!("the broker did not answer in time");
            return if stack.is_link_up() { Ended::Unreachable } else { Ended::LinkDown };
        }
    }
    let mut session = Session::new(KEEP_ALIVE_S);
    let mut out = [0u8; 1024];
    let will = device.last_will();
    let login = Login::new(settings.device_id, settings.username(), settings.mqtt_password);
    let Ok(n) = session.connect(login, (will.topic.as_str(), &will.payload), now_ms(), &mut out) else {
        return Ended::Unreachable;
    };
    if !send(&mut socket, &out[..n]).await {
        return Ended::Unreachable;
    }

    let mut inbox = [0u8; 2048];
    let mut filled = 0usize;
    let mut subscribed = false;
    let updates = UpdateLink::new(settings.branch, settings.device_id);
    // Until the broker accepted the login, a failure counts as "unreachable".
    let ended = |subscribed: bool| if subscribed { Ended::Connected } else { Ended::Unreachable };
    loop {
        watchdog.feed(WATCHDOG_TIMEOUT);
        if !stack.is_link_up() {
            return Ended::LinkDown;
        }
        // Handle every complete packet already received.
        loop {
            let now = now_ms();
            let received = match session.receive(&inbox[..filled], now, &mut out) {
                Ok(r) => r,
                Err(e) => {
                    warn!("MQTT session ended: {}", defmt::Debug2Format(&e));
                    return ended(subscribed);
                }
            };
            let (consumed, reply_len) = (received.consumed, received.reply);
            if consumed == 0 {
                break;
            }
            let mut send_after = heapless::Vec::<dawr_firmware_logic::Outgoing, 2>::new();
            match received.incoming {
                Incoming::Connected => {
                    let [reply, state] = device.subscriptions();
                    let [offer, chunk] = updates.subscriptions();
                    let topics = [reply.as_str(), state.as_str(), offer.as_str(), chunk.as_str()];
                    let Ok(n) = session.subscribe(&topics, now, &mut out) else {
                        return ended(subscribed);
                    };
                    if !send(&mut socket, &out[..n]).await {
                        return ended(subscribed);
                    }
                }
                Incoming::Subscribed if !subscribed => {
                    subscribed = true;
                    // Reaching the broker is what confirms an image on trial.
                    let _ = ota::UPDATE_EVENTS.try_send(ota::UpdateEvent::BrokerReached);
                    let _ = send_after.push(device.online_presence(now));
                    if let Some(again) = device.connected(now) {
                        let _ = send_after.push(again);
                    }
                }
                Incoming::Message { topic, payload } => match updates.read(topic, payload) {
                    Some(update) => ota::deliver(update),
                    None => device.received(topic, payload, now),
                },
                _ => {}
            }
            if reply_len > 0 && !send(&mut socket, &out[..reply_len]).await {
                return ended(subscribed);
            }
            inbox.copy_within(consumed..filled, 0);
            filled -= consumed;
            for message in send_after {
                if !publish(&mut session, &mut socket, &message).await {
                    return ended(subscribed);
                }
            }
            draw(display, device).await;
        }
        if subscribed && !publish_update_news(&mut session, &mut socket, &updates).await {
            return ended(subscribed);
        }
        if filled == inbox.len() {
            warn!("an MQTT packet larger than the buffer; reconnecting");
            return ended(subscribed);
        }

        match select3(socket.read(&mut inbox[filled..]), PRESSES.receive(), Timer::after_millis(100)).await {
            Either3::First(Ok(0)) | Either3::First(Err(_)) => return ended(subscribed),
            Either3::First(Ok(n)) => filled += n,
            Either3::Second((key, press)) => {
                if let Some(command) = device.press(key, press, now_ms())
                    && !publish(&mut session, &mut socket, &command).await
                {
                    return ended(subscribed);
                }
                draw(display, device).await;
            }
            Either3::Third(()) => {
                let now = now_ms();
                if let Some(retry) = device.tick(now)
                    && !publish(&mut session, &mut socket, &retry).await
                {
                    return ended(subscribed);
                }
                if let Some(presence) = device.presence_due(now)
                    && !publish(&mut session, &mut socket, &presence).await
                {
                    return ended(subscribed);
                }
                match session.poll(now, &mut out) {
                    Ok(0) => {}
                    Ok(n) => {
                        if !send(&mut socket, &out[..n]).await {
                            return ended(subscribed);
                        }
                    }
                    Err(_) => return ended(subscribed),
                }
                draw(display, device).await;
            }
        }
    }
}

/// The USB serial port (CDC ACM) for provisioning: the device, and the task that answers it.
fn start_usb(
    spawner: &Spawner,
    usb: embassy_rp::Peri<'static, USB>,
    flash: &'static SharedFlash,
    device: &'static str,
) {
    let driver = usb::Driver::new(usb, Irqs);
    // Raspberry Pi's vendor id with the Pico SDK's CDC serial product id: a /dev/ttyACM* on Linux.
    let mut usb_config = embassy_usb::Config::new(0x2e8a, 0x000a);
    usb_config.manufacturer = Some("Dawr");
    usb_config.product = Some("Dawr counter button");
    usb_config.serial_number = Some(device);
    usb_config.max_power = 100;
    usb_config.max_packet_size_0 = 64;
    static CONFIG_DESCRIPTOR: StaticCell<[u8; 256]> = StaticCell::new();
    static BOS_DESCRIPTOR: StaticCell<[u8; 256]> = StaticCell::new();
    static CONTROL_BUF: StaticCell<[u8; 64]> = StaticCell::new();
    static CDC_STATE: StaticCell<cdc_acm::State> = StaticCell::new();
    let mut builder = embassy_usb::Builder::new(
        driver,
        usb_config,
        CONFIG_DESCRIPTOR.init([0; 256]),
        BOS_DESCRIPTOR.init([0; 256]),
        &mut [],
        CONTROL_BUF.init([0; 64]),
    );
    let class = cdc_acm::CdcAcmClass::new(&mut builder, CDC_STATE.init(cdc_acm::State::new()), 64);
    spawner.spawn(unwrap!(usb_task(builder.build())));
    spawner.spawn(unwrap!(provision_task(class, flash, device)));
}

#[embassy_executor::task]
async fn usb_task(mut usb: embassy_usb::UsbDevice<'static, UsbDriver>) -> ! {
    usb.run().await
}

/// Answers `dawr-hub devices provision` on the USB serial port (the protocol is
/// `dawr_firmware_logic::provision`): a valid record is written to the settings sector, read
/// back, acknowledged, and the button restarts with it.
#[embassy_executor::task]
async fn provision_task(
    mut class: cdc_acm::CdcAcmClass<'static, UsbDriver>,
    flash: &'static SharedFlash,
    device: &'static str,
) -> ! {
    let mut lines = LineBuffer::new();
    let mut record = [0u8; MAX_RECORD];
    loop {
        class.wait_connection().await;
        let mut packet = [0u8; 64];
        while let Ok(n) = class.read_packet(&mut packet).await {
            for &byte in &packet[..n] {
                let Some(line) = lines.push(byte) else { continue };
                let (mut reply, store) = provision::answer(line, device, &mut record);
                let stored = match store {
                    Some(bytes) if flash.lock(|f| store_settings(&mut f.borrow_mut(), bytes)) => true,
                    Some(_) => {
                        reply = provision::refused("flash");
                        false
                    }
                    None => false,
                };
                let _ = write_line(&mut class, reply.as_bytes()).await;
                if stored {
                    info!("new settings stored; restarting");
                    Timer::after_millis(200).await;
                    restart();
                }
            }
        }
    }
}

/// Erases the settings sector, writes the record and checks it reads back the same.
fn store_settings(flash: &mut GuardedFlash, record: &[u8]) -> bool {
    let start = ota::settings_offset();
    if flash.erase(start, start + ERASE_SIZE as u32).is_err() || flash.write(start, record).is_err() {
        return false;
    }
    let mut back = [0u8; MAX_RECORD];
    let back = &mut back[..record.len()];
    flash.read(start, back).is_ok() && back == record
}

/// One reply line (`\r\n` added) in USB packets.
async fn write_line(class: &mut cdc_acm::CdcAcmClass<'static, UsbDriver>, line: &[u8]) -> Result<(), EndpointError> {
    let mut bytes = heapless::Vec::<u8, 72>::new();
    let _ = bytes.extend_from_slice(line);
    let _ = bytes.extend_from_slice(b"\r\n");
    for chunk in bytes.chunks(64) {
        class.write_packet(chunk).await?;
    }
    if bytes.len().is_multiple_of(64) {
        class.write_packet(&[]).await?;
    }
    Ok(())
}

/// Restarts the chip through its watchdog, so that the next boot reports `requested`.
fn restart() -> ! {
    embassy_rp::pac::WATCHDOG.ctrl().modify(|w| w.set_trigger(true));
    loop {
        cortex_m::asm::nop();
    }
}

/// Writes bytes to the socket within [`WRITE_TIMEOUT`]; false if that failed.
async fn send(socket: &mut TcpSocket<'_>, bytes: &[u8]) -> bool {
    matches!(with_timeout(WRITE_TIMEOUT, socket.write_all(bytes)).await, Ok(Ok(())))
}

/// Publishes one message (QoS 1); false if the connection failed.
/// Publishes the update task's latest chunk request and state report, if any (`false`: the
/// connection failed).
async fn publish_update_news(session: &mut Session, socket: &mut TcpSocket<'_>, updates: &UpdateLink<'_>) -> bool {
    if let Some(request) = ota::CHUNK_REQUESTS.try_take()
        && let Some(message) = updates.request(&request.version, request.offset, request.len)
        && !publish(session, socket, &message).await
    {
        return false;
    }
    if let Some(report) = ota::STATE_REPORTS.try_take()
        && let Some(message) = updates.report(&report)
        && !publish(session, socket, &message).await
    {
        return false;
    }
    true
}

async fn publish(session: &mut Session, socket: &mut TcpSocket<'_>, message: &dawr_firmware_logic::Outgoing) -> bool {
    let mut out = [0u8; 1024];
    match session.publish(&message.topic, &message.payload, message.retain, now_ms(), &mut out) {
        Ok(n) => send(socket, &out[..n]).await,
        Err(_) => false,
    }
}
