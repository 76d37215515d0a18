//! The first bytes a peer sent, kept while a TLS handshake reads them: when the handshake fails,
//! they say who answered instead of a TLS server (`HTTP/1.1 403 Forbidden` from a web filter, an
//! SSH banner, a TLS alert).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How many of the first bytes are kept.
pub(super) const KEPT: usize = 256;

/// A stream that copies the first [`KEPT`] bytes it reads to a shared buffer.
pub(crate) struct FirstBytes<S> {
    inner: S,
    kept: Arc<Mutex<Vec<u8>>>,
}

impl<S> FirstBytes<S> {
    pub(super) fn new(inner: S) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let kept = Arc::new(Mutex::new(Vec::new()));
        (
            FirstBytes {
                inner,
                kept: kept.clone(),
            },
            kept,
        )
    }
}

/// What was kept, taken out of the shared buffer.
pub(super) fn taken(kept: &Mutex<Vec<u8>>) -> Vec<u8> {
    std::mem::take(
        &mut *kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for FirstBytes<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            let mut kept = self
                .kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if kept.len() < KEPT {
                let new = &buf.filled()[before..];
                let room = KEPT - kept.len();
                kept.extend_from_slice(&new[..new.len().min(room)]);
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FirstBytes<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn keeps_the_first_bytes_only_and_passes_everything_on() {
        let (mut peer, ours) = tokio::io::duplex(4096);
        let (mut stream, kept) = FirstBytes::new(ours);
        let sent: Vec<u8> = (0..=255u8).cycle().take(KEPT * 2).collect();
        peer.write_all(&sent).await.expect("write");
        drop(peer);
        let mut read = Vec::new();
        stream.read_to_end(&mut read).await.expect("read");
        assert_eq!(read, sent);
        assert_eq!(taken(&kept), sent[..KEPT]);
    }
}
