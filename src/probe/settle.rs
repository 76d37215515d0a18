//! Whether the TLS server accepted the session, not only the handshake. A server that requires a
//! client certificate asks for one during the handshake (rustls calls our resolver, which has none
//! to give); with TLS 1.2 it then fails the handshake, but with TLS 1.3 the client's side of the
//! handshake is complete before the server reads the empty certificate and sends its
//! `certificate_required` alert. So when the server asked, the TLS step waits one round trip for
//! that alert before it reports success; bytes that arrive meanwhile are kept for the request.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::detail::{LibraryError, Refusal};

/// The shortest and longest wait for a rejection after a TLS 1.3 handshake.
const SETTLE_MIN: Duration = Duration::from_millis(50);
const SETTLE_MAX: Duration = Duration::from_secs(1);

/// A client-certificate resolver with no certificate that remembers whether the server asked.
#[derive(Debug, Default)]
pub(super) struct AskedForCertificate(AtomicBool);

impl AskedForCertificate {
    pub(super) fn asked(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl ResolvesClientCert for AskedForCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0.store(true, Ordering::Relaxed);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// What the server did after a TLS 1.3 handshake in which it asked for a client certificate.
pub(super) enum Settled {
    /// Nothing refused the session within one round trip (the certificate was optional).
    Accepted(Vec<u8>),
    /// The server refused the session: the alert or error it sent.
    Refused(Refusal),
}

/// Waits about one round trip (the handshake's duration, within bounds and before `deadline`)
/// for the server to refuse the session.
pub(super) async fn settle<S: AsyncRead + Unpin>(
    stream: &mut S,
    handshake_took: Duration,
    deadline: Instant,
) -> Settled {
    let wait = handshake_took.clamp(SETTLE_MIN, SETTLE_MAX);
    let until = deadline.min(Instant::now() + wait);
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
        Err(_) => Settled::Accepted(Vec::new()),
        Ok(Ok(0)) => Settled::Refused(Refusal::Closed),
        Ok(Ok(n)) => {
            buf.truncate(n);
            Settled::Accepted(buf)
        }
        Ok(Err(e)) => Settled::Refused(refusal(&e)),
    }
}

/// The alert inside an I/O error from rustls, or the error itself.
fn refusal(e: &io::Error) -> Refusal {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => Refusal::Alert(*alert),
        _ => Refusal::Error(LibraryError::io(e)),
    }
}

/// A stream that first replays bytes already read from it.
pub(crate) struct Replay<S> {
    pending: Vec<u8>,
    inner: S,
}

impl<S> Replay<S> {
    pub(super) fn new(pending: Vec<u8>, inner: S) -> Self {
        Replay { pending, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let n = this.pending.len().min(buf.remaining());
        buf.put_slice(&this.pending[..n]);
        this.pending.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replayed_bytes_come_first() {
        let (mut a, b) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut a, b" world")
            .await
            .expect("write");
        drop(a);
        let mut r = Replay::new(b"hello".to_vec(), b);
        let mut out = String::new();
        r.read_to_string(&mut out).await.expect("read");
        assert_eq!(out, "hello world");
    }
}
