//! Compiles the C shim (`shim/mx8_av.c`, `mx8_jobs.c`, `mx8_rgb.c`) against the system's FFmpeg headers
//! with the system C compiler (no crates), archives it, and links FFmpeg's
//! libraries dynamically.
//!
//! Flags come from `pkg-config` (libavformat libavcodec libswscale
//! libavutil); without it, the Debian defaults. `CC` names the compiler
//! (default `cc`). A missing compiler or missing headers fail this build
//! with one line naming the package to install; `ffi/` (the image path) is
//! a separate crate and is never affected.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const LIBS: [&str; 4] = ["libavformat", "libavcodec", "libswscale", "libavutil"];
const HINT: &str = "install with \"apt-get install -y gcc pkg-config libavformat-dev libavcodec-dev libswscale-dev\"";

/// The shim's C sources (each compiled to its own object, archived together).
const SOURCES: [&str; 3] = ["mx8_av", "mx8_jobs", "mx8_rgb"];

fn main() {
    for name in SOURCES {
        println!("cargo:rerun-if-changed=shim/{name}.c");
        println!("cargo:rerun-if-changed=shim/{name}.h");
    }
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let (cflags, libs) = pkg_config();
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut objs = Vec::new();
    for name in SOURCES {
        let obj = out.join(format!("{name}.o"));
        let status = Command::new(&cc)
            .args([
                "-c",
                "-O2",
                "-fPIC",
                "-std=c11",
                "-D_POSIX_C_SOURCE=200809L",
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
            ])
            .args(&cflags)
            .arg(format!("shim/{name}.c"))
            .arg("-o")
            .arg(&obj)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => fail(&format!(
                "{cc} could not compile shim/{name}.c against FFmpeg's headers (exit {s})"
            )),
            Err(e) => fail(&format!("cannot run the C compiler {cc:?}: {e}")),
        }
        objs.push(obj);
    }
    let lib = out.join("libmx8_av.a");
    let _ = std::fs::remove_file(&lib);
    match Command::new("ar").arg("crs").arg(&lib).args(&objs).status() {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!("ar could not archive the shim (exit {s})")),
        Err(e) => fail(&format!("cannot run ar: {e}")),
    }
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=mx8_av");
    for l in libs {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
}

/// `(cflags, library names)` from pkg-config, or the Debian defaults.
fn pkg_config() -> (Vec<String>, Vec<String>) {
    let run = |flag: &str| {
        Command::new("pkg-config")
            .arg(flag)
            .args(LIBS)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
    };
    match (run("--cflags"), run("--libs")) {
        (Some(c), Some(l)) => {
            let libs = l
                .iter()
                .filter_map(|f| f.strip_prefix("-l").map(String::from))
                .collect();
            for dir in l.iter().filter_map(|f| f.strip_prefix("-L")) {
                println!("cargo:rustc-link-search=native={dir}");
            }
            (c, libs)
        }
        _ => (
            vec![],
            ["avformat", "avcodec", "swscale", "avutil"]
                .map(String::from)
                .to_vec(),
        ),
    }
}

fn fail(what: &str) -> ! {
    eprintln!("mx8_video: {what}; {HINT}");
    std::process::exit(1);
}
