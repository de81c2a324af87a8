//! A virtual X display for tests that run an app's real window: Xvfb (Debian's `xvfb`) on a
//! display number it picks itself, with keys and clicks sent through xdotool (XTEST, as a real
//! keyboard would), pictures of a window taken by the X server itself (`xwd`, Debian's
//! `x11-apps`), and the app started on it as a process that is killed with the test.
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use dawr_ui::targets::TouchTarget;

/// A running Xvfb.
pub struct Display {
    child: Child,
    /// `:N`, for `DISPLAY`.
    pub name: String,
}

impl Display {
    /// Starts Xvfb with one screen of `width`×`height` and waits until it accepts clients.
    pub fn start(width: u32, height: u32) -> Result<Display> {
        let screen = format!("{width}x{height}x24");
        // -displayfd: Xvfb picks a free display number and writes it once it is ready.
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", &screen, "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting Xvfb (Debian: apt-get install xvfb; scripts/install-test-deps does)")?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut display = Display { child, name: String::new() };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.trim().parse::<u32>().is_ok() => display.name = format!(":{}", line.trim()),
            other => bail!("Xvfb did not start: {other:?}"),
        }
        Ok(display)
    }

    /// Runs `xdotool args` on this display; its output.
    pub fn xdotool(&self, args: &[&str]) -> Result<String> {
        let output = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.name)
            .output()
            .context("running xdotool (Debian: apt-get install xdotool)")?;
        if !output.status.success() {
            bail!("xdotool {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The window titled exactly `title`, once it is mapped (within `within`).
    pub async fn window(&self, title: &str, within: Duration) -> Result<String> {
        let deadline = tokio::time::Instant::now() + within;
        let pattern = format!("^{title}$");
        loop {
            let found = self.xdotool(&["search", "--onlyvisible", "--name", &pattern]).unwrap_or_default();
            if let Some(id) = found.lines().next() {
                return Ok(id.trim().to_string());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no window {title:?} on {} within {within:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Gives `window` the keyboard (there is no window manager to do it) and puts the pointer
    /// over it.
    pub fn focus(&self, window: &str) -> Result<()> {
        self.xdotool(&["windowfocus", "--sync", window])?;
        self.xdotool(&["mousemove", "--window", window, "40", "40"])?;
        Ok(())
    }

    /// Presses and releases keys (X keysym names: `n`, `Return`, `Escape`, `F1`).
    pub fn key(&self, keys: &[&str]) -> Result<()> {
        let mut args = vec!["key", "--delay", "40"];
        args.extend_from_slice(keys);
        self.xdotool(&args).map(drop)
    }

    /// Types `text` key by key.
    pub fn type_text(&self, text: &str) -> Result<()> {
        self.xdotool(&["type", "--delay", "40", text]).map(drop)
    }

    /// A click at (`x`, `y`) inside `window`.
    pub fn click(&self, window: &str, x: u32, y: u32) -> Result<()> {
        // The pointer arrives first (--sync: once the server has moved it), then the press: a
        // press in the same breath as the move can reach the app before the move does.
        self.xdotool(&["mousemove", "--window", window, "--sync", &x.to_string(), &y.to_string()])?;
        self.xdotool(&["click", "1"]).map(drop)
    }

    /// A tap (a click of the first button: touch is a pointer on X) in the middle of `target`,
    /// a touch target as the app logged it.
    pub fn tap(&self, window: &str, target: &TouchTarget) -> Result<()> {
        let (x, y) = target.centre();
        self.click(window, x.round() as u32, y.round() as u32)
    }

    /// What `window` shows now, as the X server has it (`xwd`).
    pub fn screenshot(&self, window: &str) -> Result<image::RgbaImage> {
        let output = Command::new("xwd")
            .args(["-silent", "-id", window])
            .env("DISPLAY", &self.name)
            .output()
            .context("running xwd (Debian: apt-get install x11-apps)")?;
        if !output.status.success() {
            bail!("xwd -id {window}: {}", String::from_utf8_lossy(&output.stderr));
        }
        read_xwd(&output.stdout)
    }

    /// Starts `program args` on this display, its output (logs) into `log`; killed on drop.
    pub fn run(&self, program: &Path, args: &[&str], log: &Path) -> Result<App> {
        let file = std::fs::File::create(log)?;
        let child = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.name)
            .env_remove("WAYLAND_DISPLAY")
            // Info, and where the touch targets are (dawr_ui::targets) for tests that tap them.
            .env("RUST_LOG", format!("info,{}=debug", dawr_ui::targets::LOG_TARGET))
            .env("NO_COLOR", "1")
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        Ok(App { child, log: log.to_path_buf() })
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An app running on a [`Display`].
pub struct App {
    child: Child,
    log: std::path::PathBuf,
}

impl App {
    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until its log contains `line` (within `within`); fails if it exits first.
    pub async fn logged(&mut self, line: &str, within: Duration) -> Result<()> {
        self.logged_times(line, 1, within).await
    }

    /// Waits until its log contains `line` `times` times or more (within `within`); fails if it
    /// exits first.
    pub async fn logged_times(&mut self, line: &str, times: usize, within: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        while self.log().matches(line).count() < times {
            if let Some(status) = self.child.try_wait()? {
                bail!("the app exited ({status}) before logging {line:?}:\n{}", self.log());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the app did not log {line:?} within {within:?}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pixels of an XWD dump of a 24- or 32-bit TrueColor window (as Xvfb's screens are): a
/// header of big-endian 32-bit fields, the window's name, the colour map, then the rows.
fn read_xwd(data: &[u8]) -> Result<image::RgbaImage> {
    let field = |i: usize| -> Result<u32> {
        let bytes = data.get(i * 4..i * 4 + 4).context("a short XWD header")?;
        Ok(u32::from_be_bytes(bytes.try_into().expect("four bytes")))
    };
    let (header_size, format, width, height) = (field(0)? as usize, field(2)?, field(4)?, field(5)?);
    let (byte_order, bits_per_pixel, bytes_per_line) = (field(7)?, field(11)?, field(12)? as usize);
    let masks = [field(14)?, field(15)?, field(16)?];
    let colours = field(19)? as usize;
    ensure!(format == 2 && bits_per_pixel == 32, "an XWD dump of format {format} with {bits_per_pixel} bits a pixel");
    let pixels = data.get(header_size + colours * 12..).context("an XWD dump without pixels")?;
    ensure!(pixels.len() >= bytes_per_line * height as usize, "a short XWD dump");
    let channel = |value: u32, mask: u32| ((value & mask) >> mask.trailing_zeros()) as u8;
    Ok(image::RgbaImage::from_fn(width, height, |x, y| {
        let at = y as usize * bytes_per_line + x as usize * 4;
        let bytes: [u8; 4] = pixels[at..at + 4].try_into().expect("four bytes");
        let value = if byte_order == 0 { u32::from_le_bytes(bytes) } else { u32::from_be_bytes(bytes) };
        image::Rgba([channel(value, masks[0]), channel(value, masks[1]), channel(value, masks[2]), 255])
    }))
}
