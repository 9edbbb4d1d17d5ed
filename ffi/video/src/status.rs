//! Status codes of every `mx8_video_*` function.

/// Result of an `mx8_video_*` call. The numeric values are part of the ABI:
/// `lib/video/native.ts` mirrors them.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// An argument was out of range or inconsistent.
    InvalidArgument = 2,
    /// The output buffer is smaller than the clip needs.
    BufferTooSmall = 3,
    /// A Rust panic was caught at the boundary (a bug in mx8_video).
    Panic = 4,
    /// The FFmpeg loaded at run time is not the one the shim was built against.
    VersionMismatch = 5,
    /// The container could not be opened or parsed.
    OpenFailed = 6,
    /// The file has no video stream.
    NoVideoStream = 7,
    /// No decoder for the codec, or it failed to open.
    Codec = 8,
    /// A read or decode error the clip cannot go past.
    Decode = 9,
    /// The per-clip packet or time limit was reached.
    LimitExceeded = 10,
    /// The video ends before a frame the clip wants.
    VideoTooShort = 11,
    /// An allocation failed.
    OutOfMemory = 12,
}

impl VideoStatus {
    /// The status of a shim result code (`MX8AV_*`).
    pub fn of_shim(code: i32) -> Self {
        match code {
            0 => Self::Ok,
            1 => Self::InvalidArgument,
            2 => Self::OpenFailed,
            3 => Self::NoVideoStream,
            4 => Self::Codec,
            5 => Self::Decode,
            6 => Self::LimitExceeded,
            7 => Self::VideoTooShort,
            8 => Self::OutOfMemory,
            _ => Self::Panic,
        }
    }
}

/// An error with a status and a message.
#[derive(Debug)]
pub struct VideoError {
    pub status: VideoStatus,
    pub message: String,
}

impl VideoError {
    pub fn new(status: VideoStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// Result of a body run by `panic::guard`.
pub type VideoResult = Result<(), VideoError>;
