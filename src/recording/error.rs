//! Why a recording could not be read: every error names the bag or file, and the topic.

use std::path::PathBuf;

use thiserror::Error;

/// Why a recording could not be read.
#[derive(Debug, Error)]
pub enum BagError {
    /// A file or folder could not be read.
    #[error("bag {path}: cannot read it: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Neither a rosbag2 folder nor an MCAP or SQLite3 file.
    #[error("bag {path}: {what}")]
    NotABag {
        /// What was given.
        path: PathBuf,
        /// What it is instead.
        what: String,
    },
    /// The folder's `metadata.yaml` cannot be used.
    #[error("bag {path}: metadata.yaml: {what}")]
    Metadata {
        /// The bag folder.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A storage file is truncated or damaged.
    #[error("bag file {path}: {what}")]
    Corrupt {
        /// The storage file.
        path: PathBuf,
        /// What the reader found.
        what: String,
    },
    /// A topic asked for, or one of a needed type, is not in the bag.
    #[error("bag {path}: {what} (topics: {available})")]
    NoTopic {
        /// The bag.
        path: PathBuf,
        /// What was looked for.
        what: String,
        /// The bag's topics with their types.
        available: String,
    },
    /// More than one topic could be meant.
    #[error("bag {path}: several {type_name} topics ({candidates}); name one with {flag}")]
    Ambiguous {
        /// The bag.
        path: PathBuf,
        /// Their type.
        type_name: String,
        /// Their names.
        candidates: String,
        /// The flag that chooses.
        flag: String,
    },
    /// A topic has another type than the one it is read as.
    #[error("bag {path}, topic {topic}: its type is {found}, expected {expected}")]
    WrongType {
        /// The bag.
        path: PathBuf,
        /// The topic.
        topic: String,
        /// Its type.
        found: String,
        /// The types it could be read as.
        expected: String,
    },
    /// A message cannot be decoded.
    #[error("bag {path}, topic {topic}, message {index}: {what}")]
    Message {
        /// The bag.
        path: PathBuf,
        /// The topic.
        topic: String,
        /// 0-based index of the message on its topic.
        index: usize,
        /// What is wrong.
        what: String,
    },
}
