//! The listener under the server: every accepted connection carries its peer address (for the request log)
//! and a switch that aborts it, so the `token.close_connection` fault can close a connection without
//! writing a response, which a handler alone cannot do.

use std::{
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use axum::extract::{ConnectInfo, FromRequestParts, connect_info::Connected};
use axum::http::request::Parts;
use axum::serve::IncomingStream;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

/// The address a request came from, when the server was started with connection info (every real server
/// is; `router(state)` driven by `oneshot` has none). Only the socket peer counts: forwarded headers are
/// ignored, since anyone can send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<ConnectInfo<Conn>>()
                .map(|c| c.0.remote.ip()),
        ))
    }
}

/// What a handler learns about its connection (`ConnectInfo<Conn>`).
#[derive(Debug, Clone)]
pub struct Conn {
    /// The peer's address.
    pub remote: SocketAddr,
    /// Set to abort the connection: its next read or write fails and the server drops it unanswered.
    abort: Arc<AtomicBool>,
}

impl Conn {
    /// The connection info of a new connection from `remote` (made by the TLS listener).
    #[cfg(feature = "tls")]
    pub fn of(remote: SocketAddr) -> Conn {
        Conn {
            remote,
            abort: Arc::default(),
        }
    }

    /// Aborts the connection: nothing more is written to it, whatever the handler returns.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
    }
}

/// A TCP listener whose connections can be aborted from a handler.
#[derive(Debug)]
pub struct AbortableListener(pub TcpListener);

impl axum::serve::Listener for AbortableListener {
    type Io = AbortableStream;
    type Addr = Conn;

    async fn accept(&mut self) -> (AbortableStream, Conn) {
        loop {
            match self.0.accept().await {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let abort = Arc::new(AtomicBool::new(false));
                    let conn = Conn {
                        remote,
                        abort: abort.clone(),
                    };
                    return (
                        AbortableStream {
                            stream: Inner::Plain(stream),
                            abort,
                        },
                        conn,
                    );
                }
                // Out of file descriptors and friends: back off briefly, as axum's own listener does.
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Conn> {
        Ok(Conn {
            remote: self.0.local_addr()?,
            abort: Arc::default(),
        })
    }
}

impl Connected<IncomingStream<'_, AbortableListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, AbortableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream, plain or TLS, that fails every operation once its connection is aborted.
#[derive(Debug)]
pub struct AbortableStream {
    /// The connection.
    stream: Inner,
    /// Shared with the [`Conn`] the handlers see.
    abort: Arc<AtomicBool>,
}

/// The transport under an [`AbortableStream`].
#[derive(Debug)]
enum Inner {
    /// Plain HTTP.
    Plain(TcpStream),
    /// HTTPS (feature `tls`).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// Forwards a poll to whichever transport is inside.
macro_rules! inner {
    ($self:ident, $s:ident => $e:expr) => {
        match &mut $self.stream {
            Inner::Plain($s) => $e,
            #[cfg(feature = "tls")]
            Inner::Tls($s) => $e,
        }
    };
}

impl AbortableStream {
    /// A TLS connection from `remote`, with the [`Conn`] its handlers see.
    #[cfg(feature = "tls")]
    pub(crate) fn tls(
        stream: tokio_rustls::server::TlsStream<TcpStream>,
        remote: SocketAddr,
    ) -> (AbortableStream, Conn) {
        let conn = Conn::of(remote);
        (
            AbortableStream {
                stream: Inner::Tls(Box::new(stream)),
                abort: conn.abort.clone(),
            },
            conn,
        )
    }

    fn aborted(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }
}

fn aborted_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "aborted by a fault")
}

impl AsyncRead for AbortableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        inner!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for AbortableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        inner!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        inner!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        inner!(self, s => Pin::new(s).poll_shutdown(cx))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        inner!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Inner::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            Inner::Tls(s) => s.is_write_vectored(),
        }
    }
}
