//! Compiles the board's Slint UI (`ui/board.slint`) into Rust (`screen.rs` includes it).
fn main() {
    slint_build::compile("ui/board.slint").expect("ui/board.slint compiles");
}
