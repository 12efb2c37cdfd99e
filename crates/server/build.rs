//! A release build embeds `web/dist` (`web_client::embedded`): rebuild when
//! it changes, also when it did not exist at the last build (rust-embed
//! only tracks the files it found). Debug builds read the folder at run time
//! and need no rebuild.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        println!("cargo:rerun-if-changed=../../web/dist");
    }
}
