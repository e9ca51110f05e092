//! Object-store remotes: objects under `s3://bucket/prefix/` (or `gs://bucket/prefix/`,
//! `az://container/prefix/`), laid out as the cache lays them out (`ab/cdef…`), through the
//! `object_store` crate (the client arrow-rs and `DataFusion` use), one [`ObjectRemote`] over
//! any of its backends (built by [`super::store`]).
//!
//! `object_store` is async; this module blocks on the shared runtime of [`super::store`] and
//! exposes only the synchronous [`Remote`] trait, so the rest of mlops stays synchronous
//! (STYLE.md allows an async runtime only inside a network client). Transfers run in parallel
//! on the caller's threads (`push -j`), each blocking on its own request.
//!
//! What the store guarantees and what mlops adds:
//! - which objects exist comes from one paginated listing (1,000 keys a request), never one
//!   request per object;
//! - uploads are conditional (`If-None-Match: *`, `PutMode::Create`): an object already there is
//!   never overwritten; objects over [`MULTIPART_THRESHOLD`] go up in parts, and the upload is
//!   dropped when the object appeared meanwhile (parts are the only case S3 cannot make
//!   conditional here; the object's name is its content's digest and its bytes were verified, so
//!   a concurrent twin holds the same bytes);
//! - requests are retried with exponential backoff on 5xx, timeouts and dropped connections;
//! - credentials come only from the standard places (see [`super::store`]): never from the
//!   committed config, and they are never printed.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt as _;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutPayload, WriteMultipart};

use super::store::{self, Failure, ObjectUrl, Scheme};
use crate::config::{RemoteConfig, RemoteCredentials};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::remote::Remote;

/// Objects larger than this go up in parts of [`PART_SIZE`], several at once.
pub(crate) const MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
const PART_SIZE: usize = 16 * 1024 * 1024;
/// Parts of one object in flight at once.
const PART_CONCURRENCY: usize = 4;

/// A remote in an object store: an S3 bucket (or an S3-compatible store: `MinIO`, Ceph, moto),
/// a GCS bucket or an Azure Blob container, under a key prefix.
#[derive(Debug)]
pub(crate) struct ObjectRemote {
    name: String,
    /// The store and the key prefix (without a trailing slash; empty for the store's root).
    url: ObjectUrl,
    store: Arc<dyn ObjectStore>,
    runtime: &'static tokio::runtime::Runtime,
}

impl ObjectRemote {
    /// Opens remote `name` at `url`; builds the client, contacts nothing yet.
    pub(crate) fn open(
        name: &str,
        url: &ObjectUrl,
        config: &RemoteConfig,
        local: Option<&RemoteCredentials>,
    ) -> Result<Self> {
        let bad = |problem: String| Error::BadRemoteUrl {
            url: config.url.clone(),
            problem,
        };
        if url.scheme == Scheme::Http {
            return Err(Error::UnsupportedRemote {
                url: config.url.clone(),
            });
        }
        let store = store::build(url, config, local).map_err(bad)?;
        Ok(Self {
            name: name.to_owned(),
            url: url.clone(),
            store,
            runtime: store::runtime()?,
        })
    }

    fn key(&self, digest: &Digest) -> Key {
        let (dir, rest) = digest.split_hex();
        if self.url.prefix.is_empty() {
            Key::from(format!("{dir}/{rest}"))
        } else {
            Key::from(format!("{}/{dir}/{rest}", self.url.prefix))
        }
    }

    /// The key of a named file (see [`super::NAMED_DIR`]).
    fn named_key(&self, name: &str) -> Key {
        let dir = super::NAMED_DIR;
        if self.url.prefix.is_empty() {
            Key::from(format!("{dir}/{name}"))
        } else {
            Key::from(format!("{}/{dir}/{name}", self.url.prefix))
        }
    }

    /// A failed request as one line naming the bucket and key.
    fn request_error(&self, key: &str, err: &object_store::Error) -> Error {
        let url = self.url.url_of(key);
        let remote = self.name.clone();
        let (failure, message) = store::classify(err);
        match failure {
            Failure::Denied => Error::RemoteDenied {
                remote,
                url,
                message,
            },
            Failure::NotFound => Error::RemoteLocationMissing {
                remote,
                url,
                message,
            },
            Failure::Other => Error::RemoteRequest {
                remote,
                url,
                message,
            },
        }
    }

    /// A missing object is [`Error::RemoteObjectMissing`]; anything else names the key.
    fn object_error(&self, digest: &Digest, err: &object_store::Error) -> Error {
        if matches!(err, object_store::Error::NotFound { .. }) {
            return Error::RemoteObjectMissing {
                remote: self.name.clone(),
                digest: *digest,
            };
        }
        self.request_error(self.key(digest).as_ref(), err)
    }

    /// Streams object `digest` through `sink`, chunk by chunk (objects may exceed memory).
    fn download(&self, digest: &Digest, mut sink: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let key = self.key(digest);
        self.runtime.block_on(async {
            let result = self
                .store
                .get(&key)
                .await
                .map_err(|e| self.object_error(digest, &e))?;
            let mut stream = result.into_stream();
            while let Some(chunk) = stream.next().await {
                sink(&chunk.map_err(|e| self.object_error(digest, &e))?)?;
            }
            Ok(())
        })
    }

    /// Uploads `src` as object `digest`: conditionally (`PutMode::Create`, an object already
    /// there is kept) unless `mode` says to overwrite a corrupt copy.
    fn upload(&self, digest: &Digest, src: &Path, mode: PutMode) -> Result<()> {
        let key = self.key(digest);
        let len = fs_err::metadata(src)?.len();
        let overwrite = matches!(mode, PutMode::Overwrite);
        crate::faults::write_step();
        self.runtime.block_on(async {
            if len > MULTIPART_THRESHOLD {
                return self.put_multipart(&key, src, overwrite).await;
            }
            let payload = PutPayload::from(fs_err::read(src)?);
            match self.store.put_opts(&key, payload, mode.into()).await {
                // Already there: its name is its content's digest, so nothing is lost.
                Ok(_)
                | Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) => Ok(()),
                Err(e) => Err(self.request_error(key.as_ref(), &e)),
            }
        })
    }

    async fn put_multipart(&self, key: &Key, src: &Path, overwrite: bool) -> Result<()> {
        let fail = |e: &object_store::Error| self.request_error(key.as_ref(), e);
        let upload = self.store.put_multipart(key).await.map_err(|e| fail(&e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut file = fs_err::File::open(src)?;
        let mut buf = vec![0u8; PART_SIZE];
        let read = loop {
            if let Err(e) = writer.wait_for_capacity(PART_CONCURRENCY).await {
                break Err(fail(&e));
            }
            match std::io::Read::read(&mut file, &mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => writer.write(&buf[..n]),
                Err(e) => break Err(e.into()),
            }
        };
        // Parts cannot be uploaded conditionally here: drop the upload if the object appeared.
        let exists = read.is_ok() && !overwrite && self.store.head(key).await.is_ok();
        if read.is_err() || exists {
            let _ = writer.abort().await;
            return read;
        }
        writer.finish().await.map_err(|e| fail(&e))?;
        Ok(())
    }
}

impl Remote for ObjectRemote {
    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> Result<HashSet<Digest>> {
        let prefix = (!self.url.prefix.is_empty()).then(|| Key::from(self.url.prefix.as_str()));
        self.runtime.block_on(async {
            let mut found = HashSet::new();
            let mut stream = self.store.list(prefix.as_ref());
            while let Some(meta) = stream.next().await {
                let meta = meta.map_err(|e| self.request_error(&self.url.prefix, &e))?;
                let key = meta.location.as_ref();
                let rel = key
                    .strip_prefix(self.url.prefix.as_str())
                    .map_or(key, |r| r.trim_start_matches('/'));
                // Keys that are not `ab/cdef…` are not ours: ignore them.
                if let Some((dir, rest)) = rel.split_once('/')
                    && dir.len() == 2
                    && let Some(digest) = Digest::from_hex(format!("{dir}{rest}").as_bytes())
                {
                    found.insert(digest);
                }
            }
            Ok(found)
        })
    }

    fn exists(&self, digest: &Digest) -> Result<bool> {
        let key = self.key(digest);
        self.runtime.block_on(async {
            match self.store.head(&key).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(self.request_error(key.as_ref(), &e)),
            }
        })
    }

    fn put(&self, digest: &Digest, src: &Path) -> Result<()> {
        self.upload(digest, src, PutMode::Create)
    }

    fn replace(&self, digest: &Digest, src: &Path) -> Result<()> {
        self.upload(digest, src, PutMode::Overwrite)
    }

    fn get(&self, digest: &Digest, dest: &Path) -> Result<()> {
        let mut file = std::io::BufWriter::with_capacity(1 << 20, fs_err::File::create(dest)?);
        self.download(digest, |chunk| Ok(file.write_all(chunk)?))?;
        // No fsync per object: the fetch syncs the cache's filesystem once at the end.
        file.flush()?;
        Ok(())
    }

    fn hash(&self, digest: &Digest) -> Result<Digest> {
        let mut hasher = blake3::Hasher::new();
        self.download(digest, |chunk| {
            hasher.update(chunk);
            Ok(())
        })?;
        Ok(Digest::from(*hasher.finalize().as_bytes()))
    }

    fn put_named(&self, name: &str, src: &Path) -> Result<()> {
        super::check_name(name)?;
        let key = self.named_key(name);
        let payload = PutPayload::from(fs_err::read(src)?);
        self.runtime.block_on(async {
            self.store
                .put(&key, payload)
                .await
                .map(|_| ())
                .map_err(|e| self.request_error(key.as_ref(), &e))
        })
    }

    fn get_named(&self, name: &str, dest: &Path) -> Result<bool> {
        super::check_name(name)?;
        let key = self.named_key(name);
        self.runtime.block_on(async {
            match self.store.get(&key).await {
                Ok(found) => {
                    let bytes = found
                        .bytes()
                        .await
                        .map_err(|e| self.request_error(key.as_ref(), &e))?;
                    fs_err::write(dest, &bytes)?;
                    Ok(true)
                }
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(self.request_error(key.as_ref(), &e)),
            }
        })
    }

    fn remove_named(&self, name: &str) -> Result<()> {
        super::check_name(name)?;
        let key = self.named_key(name);
        self.runtime.block_on(async {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(self.request_error(key.as_ref(), &e)),
            }
        })
    }

    fn default_jobs(&self) -> usize {
        // Latency-bound: many requests in flight hide the round trips.
        4 * std::thread::available_parallelism().map_or(4, std::num::NonZero::get)
    }
}
