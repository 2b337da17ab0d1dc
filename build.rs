//! Build script: with the `tch` feature, records libtorch's library folder (as torch-sys found
//! it, from `LIBTORCH` or `.cargo/config.toml`) as an rpath, so the binary and tests find
//! libtorch without `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var_os("CARGO_FEATURE_TCH").is_none() {
        return;
    }
    match std::env::var("DEP_TCH_LIBTORCH_LIB") {
        Ok(dir) => println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}"),
        Err(_) => println!(
            "cargo:warning=torch-sys did not report libtorch's folder; set LD_LIBRARY_PATH to \
             libtorch/lib to run"
        ),
    }
}
