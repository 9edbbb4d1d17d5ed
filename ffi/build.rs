//! Links the system libjpeg-turbo TurboJPEG library dynamically.
//!
//! Set `MX8_TURBOJPEG_LIB_DIR` to add a non-standard search directory.

fn main() {
    println!("cargo:rerun-if-env-changed=MX8_TURBOJPEG_LIB_DIR");
    if let Ok(dir) = std::env::var("MX8_TURBOJPEG_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
    }
    println!("cargo:rustc-link-lib=dylib=turbojpeg");
}
