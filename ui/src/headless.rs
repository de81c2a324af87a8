//! Rendering a Slint component to a PNG without a display: a platform whose only window is a
//! software-rendered buffer. Install it with [`install`] before any other Slint call of the
//! thread (a process that uses it cannot open a real window afterwards).
use std::path::Path;
use std::rc::Rc;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize, PlatformError};

#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error("could not set up the headless Slint platform: {0}")]
    Platform(#[from] PlatformError),
    #[error("could not write {path}: {message}")]
    Png { path: String, message: String },
}

struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }
}

/// Installs the headless platform for this thread and registers the bundled fonts.
pub fn install() -> Result<(), HeadlessError> {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(HeadlessPlatform { window }))
        .map_err(|e| HeadlessError::Platform(PlatformError::Other(e.to_string())))?;
    crate::fonts::register_with_slint();
    Ok(())
}

/// Draws `component` at `width`×`height` and returns its pixels (RGBA, row by row).
pub fn snapshot(component: &impl ComponentHandle, width: u32, height: u32) -> Result<image::RgbaImage, HeadlessError> {
    let window = component.window();
    window.set_size(PhysicalSize::new(width, height));
    component.show()?;
    slint::platform::update_timers_and_animations();
    let buffer = window.take_snapshot()?;
    let image = image::RgbaImage::from_raw(buffer.width(), buffer.height(), buffer.as_bytes().to_vec())
        .expect("a snapshot's buffer holds width × height pixels");
    component.hide()?;
    Ok(image)
}

/// Draws `component` at `width`×`height` into a PNG file.
pub fn snapshot_png(
    component: &impl ComponentHandle,
    width: u32,
    height: u32,
    path: &Path,
) -> Result<image::RgbaImage, HeadlessError> {
    let image = snapshot(component, width, height)?;
    image.save(path).map_err(|e| HeadlessError::Png { path: path.display().to_string(), message: e.to_string() })?;
    Ok(image)
}

/// The environment variable that sends pictures to `docs/screenshots/`: tests that draw screens
/// write them there only when it is `1` (to refresh the committed pictures on purpose), and
/// otherwise to `target/screenshots/`, so a test run never rewrites a committed file.
pub const UPDATE_SCREENSHOTS: &str = "DAWR_UPDATE_SCREENSHOTS";

/// Where tests leave their pictures of `app`'s screens (`""`: the top of the folder), created if
/// missing: `docs/screenshots/APP` with `DAWR_UPDATE_SCREENSHOTS=1`, else
/// `target/screenshots/APP` (see [`UPDATE_SCREENSHOTS`]).
pub fn screenshots_dir(app: &str) -> std::path::PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let base = if std::env::var(UPDATE_SCREENSHOTS).is_ok_and(|v| v == "1") {
        workspace.join("docs/screenshots")
    } else {
        workspace.join("target/screenshots")
    };
    let dir = base.join(app);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}
