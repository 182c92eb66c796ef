//! EPP over TCP (RFC 5734 §4): each data unit is a 4-byte big-endian length that counts itself,
//! then the XML.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest data unit read (a registry's answer is far smaller).
const MAX_FRAME: usize = 4 * 1024 * 1024;

pub(super) async fn write_frame(stream: &mut (impl AsyncWrite + Unpin), xml: &str) -> std::io::Result<()> {
    let len = u32::try_from(xml.len() + 4).map_err(|_| std::io::Error::other("frame too large"))?;
    let mut frame = Vec::with_capacity(xml.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(xml.as_bytes());
    stream.write_all(&frame).await?;
    stream.flush().await
}

pub(super) async fn read_frame(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<String> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await?;
    let len = u32::from_be_bytes(header) as usize;
    if !(5..=MAX_FRAME).contains(&len) {
        return Err(std::io::Error::other(format!("a data unit of {len} bytes")));
    }
    let mut body = vec![0u8; len - 4];
    stream.read_exact(&mut body).await?;
    String::from_utf8(body).map_err(|_| std::io::Error::other("a data unit that is not UTF-8"))
}

/// Writes one frame (public for the tests' registry double).
pub async fn send_frame(stream: &mut (impl AsyncWrite + Unpin), xml: &str) -> std::io::Result<()> {
    write_frame(stream, xml).await
}

/// Reads one frame (public for the tests' registry double).
pub async fn receive_frame(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<String> {
    read_frame(stream).await
}
