//! The client side of a running server's admin routes, for `mlops serve status` and `mlops
//! serve switch`: one HTTP/1.1 request over a plain TCP connection, the answer read to its end.
//! No TLS: admin routes are meant for loopback, or a proxy on the same machine.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::{Error, Result};

/// How long connecting, and then each read or write, may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `method path` with a JSON `body` to the server at `url` (`http://HOST:PORT`), with
/// `token` as a bearer token when given; the JSON answer of a 2xx, else an error with the
/// server's message.
pub fn call(
    url: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    token: Option<&str>,
) -> Result<serde_json::Value> {
    let failed = |message: String| Error::Admin {
        url: url.to_owned(),
        message,
    };
    let authority = url
        .strip_prefix("http://")
        .ok_or_else(|| failed("expected http://HOST:PORT".to_owned()))?
        .trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(failed("expected http://HOST:PORT".to_owned()));
    }
    let address = authority
        .to_socket_addrs()
        .map_err(|e| failed(e.to_string()))?
        .next()
        .ok_or_else(|| failed("the address resolves to nothing".to_owned()))?;
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .map_err(|e| failed(format!("{e} (is `mlops serve` running there?)")))?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(Error::Io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(Error::Io)?;
    let body = body.map(ToString::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        let _ = write!(request, "Authorization: Bearer {token}\r\n");
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream
        .write_all(request.as_bytes())
        .map_err(|e| failed(e.to_string()))?;
    let mut answer = Vec::new();
    // A server answers an admin call in a few hundred bytes; a megabyte is plenty.
    stream
        .take(1 << 20)
        .read_to_end(&mut answer)
        .map_err(|e| failed(e.to_string()))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| failed("the answer is not HTTP".to_owned()))?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| failed("the answer has no status".to_owned()))?;
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|_| failed(format!("status {status}, and the answer is not JSON")))?;
    if (200..300).contains(&status) {
        Ok(value)
    } else {
        // The server's errors are `{"error": MESSAGE, "field": FIELD}`.
        let message = value["error"]
            .as_str()
            .map_or_else(|| value.to_string(), ToOwned::to_owned);
        Err(failed(format!("{status}: {message}")))
    }
}
