//! Compiles the kiosk's Slint UI (`ui/kiosk.slint`) into Rust (`screen.rs` includes it), with
//! the element information Slint's element search needs (`dawr_ui::targets`: the touch-target
//! log and the layout test).
fn main() {
    let config = slint_build::CompilerConfiguration::new().with_debug_info(true);
    slint_build::compile_with_config("ui/kiosk.slint", config).expect("ui/kiosk.slint compiles");
}
