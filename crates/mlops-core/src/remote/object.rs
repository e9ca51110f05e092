//! The S3 remote: objects under `s3://bucket/prefix/`, laid out as the cache lays them out
//! (`ab/cdef…`), through the `object_store` crate (the client arrow-rs and `DataFusion` use).
//!
//! `object_store` is async; this module keeps a small tokio runtime inside [`S3Remote`] and
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
//! - credentials come only from the environment, the AWS config files and profiles, container
//!   or instance metadata, or `credentials:` in `config.local.yaml`; never from the committed
//!   config, and they are never printed.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use object_store::ClientConfigKey;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ObjectStore as _, ObjectStoreExt as _, PutMode, PutPayload, RetryConfig,
    WriteMultipart,
};

use crate::config::{RemoteConfig, RemoteCredentials};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::remote::Remote;

/// Objects larger than this go up in parts of [`PART_SIZE`], several at once.
pub(crate) const MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
const PART_SIZE: usize = 16 * 1024 * 1024;
/// Parts of one object in flight at once.
const PART_CONCURRENCY: usize = 4;

/// A remote in an S3 bucket (or an S3-compatible store: `MinIO`, Ceph, moto).
#[derive(Debug)]
pub(crate) struct S3Remote {
    name: String,
    bucket: String,
    /// The key prefix, without a trailing slash; empty for the bucket's root.
    prefix: String,
    store: Arc<AmazonS3>,
    runtime: tokio::runtime::Runtime,
}

/// `s3://bucket/prefix` split into bucket and prefix, or `None` for another scheme.
pub(crate) fn parse_url(url: &str) -> Option<Result<(String, String)>> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
    if !valid_bucket {
        return Some(Err(Error::BadRemoteUrl {
            url: url.to_owned(),
            problem: format!(
                "`{bucket}` is not an S3 bucket name (3 to 63 lowercase letters, digits, `-` and `.`)"
            ),
        }));
    }
    if prefix
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
        && !prefix.is_empty()
    {
        return Some(Err(Error::BadRemoteUrl {
            url: url.to_owned(),
            problem: "its prefix has an empty, `.` or `..` segment".to_owned(),
        }));
    }
    Some(Ok((bucket.to_owned(), prefix.to_owned())))
}

/// Where an S3 remote's credentials come from, for `mlops remote list` (never the secret).
pub(crate) fn credentials_source(
    config: &RemoteConfig,
    local: Option<&RemoteCredentials>,
) -> String {
    if local.is_some() {
        return "config.local.yaml".to_owned();
    }
    if let Some(profile) = &config.profile {
        return format!("AWS profile `{profile}`");
    }
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") {
        return "environment (AWS_ACCESS_KEY_ID)".to_owned();
    }
    if let Ok(profile) = std::env::var("AWS_PROFILE") {
        return format!("AWS profile `{profile}` (AWS_PROFILE)");
    }
    if set("AWS_WEB_IDENTITY_TOKEN_FILE") {
        return "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".to_owned();
    }
    if set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        return "container credentials (ECS)".to_owned();
    }
    if profile_settings("default").is_some_and(|p| p.access_key_id.is_some()) {
        return "AWS profile `default`".to_owned();
    }
    "instance metadata (no other source found)".to_owned()
}

/// One profile's settings from the AWS shared credentials and config files.
#[derive(Default)]
struct Profile {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    region: Option<String>,
}

/// Reads profile `name` from `~/.aws/credentials` (`[name]`) and `~/.aws/config`
/// (`[profile name]`, or `[default]`), honouring `AWS_SHARED_CREDENTIALS_FILE` and
/// `AWS_CONFIG_FILE`; `None` when neither file has it.
fn profile_settings(name: &str) -> Option<Profile> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let config_section = if name == "default" {
        "default".to_owned()
    } else {
        format!("profile {name}")
    };
    let mut profile = Profile::default();
    let mut found = false;
    for (path, section) in [
        (file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), name),
        (file("AWS_CONFIG_FILE", "config"), config_section.as_str()),
    ] {
        let Some(text) = path.and_then(|p| fs_err::read_to_string(p).ok()) else {
            continue;
        };
        let mut inside = false;
        for line in text.lines().map(str::trim) {
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                inside = header.trim() == section;
                found |= inside;
                continue;
            }
            let Some((key, value)) = line.split_once('=').filter(|_| inside) else {
                continue;
            };
            let value = Some(value.trim().to_owned());
            match key.trim() {
                "aws_access_key_id" => profile.access_key_id = value,
                "aws_secret_access_key" => profile.secret_access_key = value,
                "aws_session_token" => profile.session_token = value,
                "region" if profile.region.is_none() => profile.region = value,
                _ => {}
            }
        }
    }
    found.then_some(profile)
}

impl S3Remote {
    /// Opens remote `name` at `url`; builds the client, contacts nothing yet.
    pub(crate) fn open(
        name: &str,
        url: &str,
        config: &RemoteConfig,
        local: Option<&RemoteCredentials>,
    ) -> Result<Self> {
        let (bucket, prefix) = parse_url(url).unwrap_or_else(|| {
            Err(Error::UnsupportedRemote {
                url: url.to_owned(),
            })
        })?;
        // `from_env` reads AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL and the web identity,
        // container and instance-metadata settings, as the AWS SDKs do.
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
        let env_key = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
        let profile_name = config
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok());
        let profile = match &profile_name {
            Some(p) => Some(profile_settings(p).ok_or_else(|| Error::BadRemoteUrl {
                url: url.to_owned(),
                problem: format!(
                    "AWS profile `{p}` is in neither `~/.aws/credentials` nor `~/.aws/config`"
                ),
            })?),
            None if !env_key => profile_settings("default"),
            None => None,
        };
        if let Some(creds) = local {
            builder = builder
                .with_access_key_id(&creds.access_key_id)
                .with_secret_access_key(&creds.secret_access_key);
            if let Some(token) = &creds.session_token {
                builder = builder.with_token(token);
            }
        } else if let Some(Profile {
            access_key_id: Some(id),
            secret_access_key: Some(secret),
            session_token,
            ..
        }) = &profile
        {
            // A profile named in the remote's config wins over the environment, as with
            // `aws --profile`.
            if config.profile.is_some() || !env_key {
                builder = builder
                    .with_access_key_id(id)
                    .with_secret_access_key(secret);
                if let Some(token) = session_token {
                    builder = builder.with_token(token);
                }
            }
        }
        let region = config
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .or_else(|| profile.as_ref().and_then(|p| p.region.clone()));
        if let Some(region) = region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &config.endpoint_url {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let retry = RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 6,
            retry_timeout: Duration::from_secs(120),
        };
        // Through `with_config`: `with_client_options` would replace what `from_env` and
        // `with_allow_http` set. One request carries at most one part, one object below the
        // multipart threshold, or one streamed download: a generous limit, for slow links.
        let store = builder
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                "10s",
            )
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "600s")
            .with_retry(retry)
            .build()
            .map_err(|e| Error::BadRemoteUrl {
                url: url.to_owned(),
                problem: one_line(&e.to_string()),
            })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mlops-s3")
            .enable_all()
            .build()?;
        Ok(Self {
            name: name.to_owned(),
            bucket,
            prefix,
            store: Arc::new(store),
            runtime,
        })
    }

    fn key(&self, digest: &Digest) -> Key {
        let (dir, rest) = digest.split_hex();
        if self.prefix.is_empty() {
            Key::from(format!("{dir}/{rest}"))
        } else {
            Key::from(format!("{}/{dir}/{rest}", self.prefix))
        }
    }

    /// A failed request as one line naming the bucket and key.
    fn request_error(&self, key: &str, err: &object_store::Error) -> Error {
        let url = format!("s3://{}/{key}", self.bucket);
        let remote = self.name.clone();
        let message = one_line(&err.to_string());
        // A listing's failure comes as `Generic`, its HTTP status only in the message.
        let status = |code: &str| {
            message.contains(&format!("status code: {code}"))
                || message.contains(&format!("status {code}"))
        };
        match err {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => Error::RemoteDenied {
                remote,
                url,
                message,
            },
            _ if status("401") || status("403") => Error::RemoteDenied {
                remote,
                url,
                message,
            },
            object_store::Error::NotFound { .. } => Error::RemoteLocationMissing {
                remote,
                url,
                message,
            },
            _ if status("404") => Error::RemoteLocationMissing {
                remote,
                url,
                message,
            },
            _ => Error::RemoteRequest {
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

impl Remote for S3Remote {
    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> Result<HashSet<Digest>> {
        let prefix = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        self.runtime.block_on(async {
            let mut found = HashSet::new();
            let mut stream = self.store.list(prefix.as_ref());
            while let Some(meta) = stream.next().await {
                let meta = meta.map_err(|e| self.request_error(&self.prefix, &e))?;
                let key = meta.location.as_ref();
                let rel = key
                    .strip_prefix(self.prefix.as_str())
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

    fn default_jobs(&self) -> usize {
        // Latency-bound: many requests in flight hide the round trips.
        4 * std::thread::available_parallelism().map_or(4, std::num::NonZero::get)
    }
}

/// An error message on one line, without an S3 error document's XML: its code and message.
fn one_line(message: &str) -> String {
    let tag = |name: &str| {
        let start = message.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + message[start..].find(&format!("</{name}>"))?;
        Some(message[start..end].to_owned())
    };
    let text = match (tag("Code"), tag("Message")) {
        (Some(code), Some(text)) => {
            let head = message.split("<?xml").next().unwrap_or("").trim();
            format!("{head} {code}: {text}")
        }
        _ => message.to_owned(),
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        let ok = |url: &str| parse_url(url).expect("s3").expect("valid");
        assert_eq!(ok("s3://my-bucket"), ("my-bucket".into(), String::new()));
        assert_eq!(
            ok("s3://my-bucket/a/b/"),
            ("my-bucket".into(), "a/b".into())
        );
        assert!(parse_url("/tmp/x").is_none());
        assert!(parse_url("s3://B").expect("s3").is_err());
        assert!(parse_url("s3://my-bucket/a/../b").expect("s3").is_err());
    }

    #[test]
    fn s3_error_documents_become_one_line() {
        let message = "Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?>\n<Error><Code>InvalidAccessKeyId</Code><Message>The key does not exist</Message></Error>";
        assert_eq!(
            one_line(message),
            "Server returned non-2xx status code: 403 Forbidden: InvalidAccessKeyId: The key does not exist"
        );
    }
}
