//! Compiles the kiosk's Slint UI (`ui/kiosk.slint`) into Rust (`screen.rs` includes it).
fn main() {
    slint_build::compile("ui/kiosk.slint").expect("ui/kiosk.slint compiles");
}
