//! Data inputs given as URLs (`s3://bucket/key`, `gs://`, `az://`, `abfs://`, `http(s)://`): a
//! synchronous face on the same object-store clients the remotes use (the private
//! `remote::store`), for mlops-data, which lists prefixes and reads objects whole or by byte
//! ranges through it.
//!
//! One client per store (bucket, container, web server) serves the whole process, so its
//! credentials are resolved once. Its settings are the environment's, or, after
//! [`use_remote_settings`], those of a workspace remote on the same store (its endpoint, region,
//! profile and `config.local.yaml` credentials): an `s3://` input in the bucket of a `MinIO`
//! remote reads from the remote's endpoint with no environment beyond the credentials.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::StreamExt as _;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt as _};

use super::store::{self, Failure, ObjectUrl, Scheme};
use crate::config::{RemoteConfig, RemoteCredentials};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// Whether `text` is a URL this module reads (`file://` is not: it names a local path).
pub fn is_url(text: &str) -> bool {
    ObjectUrl::parse(text).is_some()
}

/// `text` with the credentials of every web URL in it removed (`https://user:pass@host/a` shows
/// as `https://host/a`), for messages: a web URL may carry them, and they must not be printed.
/// (An `abfss://container@account...` URL's `container@` is no secret, and stays.)
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let scheme = before[..at]
            .rsplit(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("");
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            rest = after;
            continue;
        }
        // The authority ends at the first `/`, `?`, `#`, quote or space; userinfo before its `@`.
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#' | '`' | '\'' | '"') || c.is_whitespace())
            .unwrap_or(after.len());
        rest = match after[..end].rfind('@') {
            Some(userinfo) => &after[userinfo + 1..],
            None => after,
        };
    }
    out.push_str(rest);
    out
}

/// Settings of the stores that workspace remotes name, by store URL (`s3://bucket`).
type Settings = BTreeMap<String, (RemoteConfig, Option<RemoteCredentials>)>;

fn settings() -> &'static Mutex<Settings> {
    static SETTINGS: Mutex<Settings> = Mutex::new(BTreeMap::new());
    &SETTINGS
}

fn clients() -> &'static Mutex<BTreeMap<String, Arc<dyn ObjectStore>>> {
    static CLIENTS: Mutex<BTreeMap<String, Arc<dyn ObjectStore>>> = Mutex::new(BTreeMap::new());
    &CLIENTS
}

/// Reads inputs on the store of one of `ws`'s object-store remotes with that remote's settings
/// (endpoint, region, profile) and its `credentials:` in `config.local.yaml`.
pub fn use_remote_settings(ws: &Workspace) {
    let config = ws.config();
    let mut known = settings().lock().unwrap_or_else(PoisonError::into_inner);
    for (name, remote) in &config.remotes {
        if let Some(Ok(url)) = ObjectUrl::parse(&remote.url) {
            known
                .entry(url.root)
                .or_insert_with(|| (remote.clone(), config.credentials.get(name).cloned()));
        }
    }
}

/// One object of a store: its size, its bytes whole or by ranges.
#[derive(Debug, Clone)]
pub struct Object {
    url: String,
    key: Key,
    store: Arc<dyn ObjectStore>,
}

/// The parts of an input URL and its store's client.
fn open(url: &str) -> Result<(ObjectUrl, Arc<dyn ObjectStore>)> {
    let bad = |problem: String| Error::BadInputUrl {
        url: url.to_owned(),
        problem,
    };
    let parsed = ObjectUrl::parse(url)
        .ok_or_else(|| {
            bad("it is not an `s3://`, `gs://`, `az://`, `abfs://` or `http(s)://` URL".to_owned())
        })?
        .map_err(bad)?;
    let mut cached = clients().lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(client) = cached.get(&parsed.root) {
        return Ok((parsed, Arc::clone(client)));
    }
    let known = settings().lock().unwrap_or_else(PoisonError::into_inner);
    let (config, local) = known.get(&parsed.root).map_or_else(
        || {
            (
                RemoteConfig {
                    url: parsed.root.clone(),
                    endpoint_url: None,
                    region: None,
                    profile: None,
                },
                None,
            )
        },
        |(config, local)| (config.clone(), local.clone()),
    );
    drop(known);
    let client = store::build(&parsed, &config, local.as_ref()).map_err(bad)?;
    cached.insert(parsed.root.clone(), Arc::clone(&client));
    Ok((parsed, client))
}

/// A failed request on `url`, in one line naming it.
fn request_error(url: &str, err: &object_store::Error) -> Error {
    let url = redact(url);
    let (failure, message) = store::classify(err);
    let message = redact(&message);
    match failure {
        Failure::Denied => Error::InputDenied { url, message },
        Failure::NotFound => Error::InputNotFound { url, message },
        Failure::Other => Error::InputRequest { url, message },
    }
}

impl Object {
    /// The object at `url`; contacts nothing yet.
    ///
    /// # Errors
    /// When `url` is malformed or its store's client cannot be built (an Azure URL without its
    /// account, an AWS profile that does not exist).
    pub fn new(url: &str) -> Result<Self> {
        let (parsed, store) = open(url)?;
        Ok(Self {
            url: url.to_owned(),
            key: Key::from(parsed.prefix.as_str()),
            store,
        })
    }

    /// The object's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The object's bytes, whole.
    ///
    /// # Errors
    /// When it does not exist or the request fails; the error names the URL.
    pub fn read(&self) -> Result<Bytes> {
        let mut reader = self.reader()?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut bytes)?;
        Ok(Bytes::from(bytes))
    }

    /// The object's bytes from its start, as they arrive: one request, read chunk by chunk, so
    /// an object larger than memory streams.
    ///
    /// # Errors
    /// When it does not exist or the request fails; the error names the URL (reading later
    /// fails with an I/O error holding the same error).
    pub fn reader(&self) -> Result<ObjectReader> {
        let runtime = store::runtime()?;
        let result = runtime
            .block_on(self.store.get(&self.key))
            .map_err(|e| request_error(&self.url, &e))?;
        Ok(ObjectReader {
            url: self.url.clone(),
            stream: result.into_stream(),
            chunk: Bytes::new(),
            runtime,
        })
    }

    /// The object's size and its last `n` bytes (all of them when it is smaller), in one
    /// request: a suffix range, whose answer also gives the size.
    ///
    /// # Errors
    /// When it does not exist or the request fails; the error names the URL.
    pub fn tail(&self, n: u64) -> Result<(u64, Bytes)> {
        let runtime = store::runtime()?;
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Suffix(n)),
            ..object_store::GetOptions::default()
        };
        let fail = |e: &object_store::Error| request_error(&self.url, e);
        runtime.block_on(async {
            let result = match self.store.get_opts(&self.key, options).await {
                Ok(result) => result,
                // Azure Blob has no suffix ranges: the size first, then the range.
                Err(object_store::Error::NotSupported { .. }) => {
                    let size = self.store.head(&self.key).await.map_err(|e| fail(&e))?.size;
                    let range = size.saturating_sub(n)..size;
                    let bytes = self
                        .store
                        .get_range(&self.key, range)
                        .await
                        .map_err(|e| fail(&e))?;
                    return Ok((size, bytes));
                }
                Err(e) => return Err(fail(&e)),
            };
            let size = result.meta.size;
            let bytes = result.bytes().await.map_err(|e| fail(&e))?;
            Ok((size, bytes))
        })
    }

    /// Bytes `ranges` of the object: ranges less than 1 MiB apart are fetched in one request,
    /// and up to 10 requests run at once (`object_store`'s `get_ranges`).
    ///
    /// # Errors
    /// When it does not exist or a request fails; the error names the URL.
    pub fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let runtime = store::runtime()?;
        runtime
            .block_on(self.store.get_ranges(&self.key, ranges))
            .map_err(|e| request_error(&self.url, &e))
    }

    /// Bytes `range` of the object (one ranged request).
    ///
    /// # Errors
    /// When it does not exist or the request fails; the error names the URL.
    pub fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let runtime = store::runtime()?;
        runtime
            .block_on(self.store.get_range(&self.key, range))
            .map_err(|e| request_error(&self.url, &e))
    }
}

/// An object's bytes as [`std::io::Read`], a chunk of the response at a time.
pub struct ObjectReader {
    url: String,
    stream: futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>,
    /// What is left of the chunk read last.
    chunk: Bytes,
    runtime: &'static tokio::runtime::Runtime,
}

impl std::io::Read for ObjectReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(request_error(&self.url, &e))),
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

/// The URLs of every object under `url` taken as a prefix (`s3://bucket/data` lists
/// `s3://bucket/data/...` at any depth; the bucket's root lists the bucket), sorted.
///
/// # Errors
/// When the URL is malformed, names a web server (HTTP has no listing), or the listing fails.
pub fn list(url: &str) -> Result<Vec<String>> {
    let (parsed, store) = open(url)?;
    if parsed.scheme == Scheme::Http {
        return Err(Error::BadInputUrl {
            url: url.to_owned(),
            problem: "a web server's directories cannot be listed: name each file".to_owned(),
        });
    }
    let prefix = (!parsed.prefix.is_empty()).then(|| Key::from(parsed.prefix.as_str()));
    let runtime = store::runtime()?;
    let mut found = runtime.block_on(async {
        let mut found = Vec::new();
        let mut stream = store.list(prefix.as_ref());
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| request_error(url, &e))?;
            found.push(parsed.url_of(meta.location.as_ref()));
        }
        Ok::<_, Error>(found)
    })?;
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_drops_the_credentials_of_every_url() {
        assert_eq!(
            redact("`https://user:pass@host:8080/a?b=c` and http://u@h/x, s3://bucket/key"),
            "`https://host:8080/a?b=c` and http://h/x, s3://bucket/key"
        );
        let azure = "`abfss://models@acct.dfs.core.windows.net/v1`";
        assert_eq!(redact(azure), azure);
        assert_eq!(redact("no url"), "no url");
    }
}
