//! Compiles the board's Slint UI (`ui/board.slint`) into Rust (`screen.rs` includes it), with
//! the element information Slint's element search needs (`dawr_ui::targets`: the layout test).
fn main() {
    let config = slint_build::CompilerConfiguration::new().with_debug_info(true);
    slint_build::compile_with_config("ui/board.slint", config).expect("ui/board.slint compiles");
}
