//! Inference: what a network file expects and returns (its description), the preprocessing
//! that turns a camera frame into its input tensor, the engines that run it (ONNX Runtime,
//! libtorch) behind one trait, and the catalogue of shipped model variants.

pub mod backend;
pub mod manifest;
pub mod model;
pub mod preprocess;
