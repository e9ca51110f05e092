//! Object stores by URL: the one place a URL (`s3://`, `gs://`, `az://`, `abfs://`, `http(s)://`)
//! becomes an `object_store` client with its credentials, for remotes ([`super::object`]) and for
//! data inputs ([`super::url`]) alike.
//!
//! Credentials come only from the standard places: the environment (`AWS_*`, `GOOGLE_*`,
//! `AZURE_*`, read as the providers' SDKs read them), the AWS config files and profiles, the
//! GCP application-default credentials file, container or instance metadata, or `credentials:`
//! in `config.local.yaml` (S3 keys); never from the committed config, and they are never printed.
//! `AWS_ENDPOINT_URL` (with `AWS_ALLOW_HTTP=true` for plain http) points `s3://` URLs at an
//! S3-compatible store, as the AWS SDKs and `object_store` read it; a remote's `--endpoint-url`
//! does the same from the config.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

use crate::config::{RemoteConfig, RemoteCredentials};

/// Which service a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Scheme {
    S3,
    Gcs,
    Azure,
    /// A plain web server: objects can be read, not listed or written.
    Http,
}

/// An object-store URL split into its store (bucket, container or web server) and key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectUrl {
    pub(crate) scheme: Scheme,
    /// The URL of the store itself: `s3://bucket`, `gs://bucket`, `az://container`,
    /// `abfs://container@account.dfs.core.windows.net`, `https://host:port`.
    pub(crate) root: String,
    /// The bucket or container (for HTTP, the host).
    bucket: String,
    /// The key or key prefix, without leading or trailing slashes; empty for the root.
    pub(crate) prefix: String,
}

impl ObjectUrl {
    /// Splits `url`; `None` when it is not an object-store or HTTP URL (a path, `file://`), an
    /// error (what is wrong with it) when it is one but malformed.
    pub(crate) fn parse(url: &str) -> Option<Result<Self, String>> {
        let (scheme_name, rest) = url.split_once("://")?;
        let scheme = match scheme_name {
            "s3" => Scheme::S3,
            "gs" => Scheme::Gcs,
            "az" | "abfs" | "abfss" => Scheme::Azure,
            "http" | "https" => Scheme::Http,
            _ => return None,
        };
        // A web URL's query (`?token=...`) goes with every request, as the root's: the client
        // adds a key's segments to the root's path and keeps its query.
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) if scheme == Scheme::Http => (rest, format!("/?{query}")),
            _ => (rest, String::new()),
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        Some(
            Self::check(scheme, scheme_name, bucket, prefix).map(|()| Self {
                scheme,
                root: format!("{scheme_name}://{bucket}{query}"),
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            }),
        )
    }

    fn check(scheme: Scheme, scheme_name: &str, bucket: &str, prefix: &str) -> Result<(), String> {
        let name_ok = |extra: &[char]| {
            (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
        };
        match (scheme, scheme_name) {
            (Scheme::S3, _) if !name_ok(&['-', '.']) => {
                return Err(format!(
                    "`{bucket}` is not an S3 bucket name (3 to 63 lowercase letters, digits, `-` and `.`)"
                ));
            }
            (Scheme::Gcs, _) if !name_ok(&['-', '.', '_']) => {
                return Err(format!(
                    "`{bucket}` is not a GCS bucket name (3 to 63 lowercase letters, digits, `-`, `_` and `.`)"
                ));
            }
            (Scheme::Azure, "az") if !name_ok(&['-']) => {
                return Err(format!(
                    "`{bucket}` is not an Azure container name (3 to 63 lowercase letters, digits and `-`)"
                ));
            }
            (Scheme::Azure, "abfs" | "abfss") if !bucket.contains('@') => {
                return Err(
                    "an `abfs://` URL names `container@account.dfs.core.windows.net`".to_owned(),
                );
            }
            (Scheme::Http, _) if bucket.is_empty() => return Err("it names no host".to_owned()),
            _ => {}
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty()
            && prefix
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err("its key has an empty, `.` or `..` segment".to_owned());
        }
        Ok(())
    }

    /// The URL of key `key` of this store.
    pub(crate) fn url_of(&self, key: &str) -> String {
        format!("{}/{key}", self.root)
    }
}

/// The runtime every object-store request runs on: `object_store` is async, mlops is not
/// (STYLE.md: an async runtime only inside a network client, behind a synchronous API). Callers
/// block on it from their own threads (rayon's, `push -j`), several at once.
pub(crate) fn runtime() -> std::io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mlops-object-store")
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// Builds the client of `url`'s store with `config`'s settings (endpoint, region, profile) and
/// `local` credentials from `config.local.yaml`; contacts nothing yet. The error says what is
/// wrong, in one line, without any secret.
pub(crate) fn build(
    url: &ObjectUrl,
    config: &RemoteConfig,
    local: Option<&RemoteCredentials>,
) -> Result<Arc<dyn ObjectStore>, String> {
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 6,
        retry_timeout: Duration::from_secs(120),
    };
    // Client settings through `with_config`: `with_client_options` would replace what
    // `from_env` read. One request carries at most one part, one object below the multipart
    // threshold, or one streamed download: a generous limit, for slow links.
    let client = [
        (ClientConfigKey::ConnectTimeout, "10s"),
        (ClientConfigKey::Timeout, "600s"),
    ];
    let store: Arc<dyn ObjectStore> = match url.scheme {
        Scheme::S3 => {
            let mut builder = s3_builder(url, config, local)?;
            for (key, value) in client {
                builder = builder.with_config(AmazonS3ConfigKey::Client(key), value);
            }
            Arc::new(builder.with_retry(retry).build().map_err(one_line_error)?)
        }
        Scheme::Gcs => {
            // `from_env` reads GOOGLE_SERVICE_ACCOUNT(_KEY), GOOGLE_APPLICATION_CREDENTIALS;
            // without them the application-default credentials file, then instance metadata.
            let mut builder = GoogleCloudStorageBuilder::from_env().with_bucket_name(&url.bucket);
            if let Some(endpoint) = &config.endpoint_url {
                builder = builder.with_base_url(endpoint).with_config(
                    GoogleConfigKey::Client(ClientConfigKey::AllowHttp),
                    endpoint.starts_with("http://").to_string(),
                );
            }
            for (key, value) in client {
                builder = builder.with_config(GoogleConfigKey::Client(key), value);
            }
            Arc::new(builder.with_retry(retry).build().map_err(one_line_error)?)
        }
        Scheme::Azure => {
            // `from_env` reads AZURE_STORAGE_ACCOUNT_NAME and _KEY, SAS tokens, client secrets,
            // workload and managed identity, and AZURE_STORAGE_USE_EMULATOR (Azurite).
            let mut builder = MicrosoftAzureBuilder::from_env();
            builder = if url.root.starts_with("az://") {
                builder.with_container_name(&url.bucket)
            } else {
                builder.with_url(&url.root)
            };
            if let Some(endpoint) = &config.endpoint_url {
                builder = builder
                    .with_endpoint(endpoint.clone())
                    .with_allow_http(endpoint.starts_with("http://"));
            }
            for (key, value) in client {
                builder = builder.with_config(AzureConfigKey::Client(key), value);
            }
            Arc::new(builder.with_retry(retry).build().map_err(|e| {
                let message = one_line_error(e);
                if message.contains("ccount must be specified") {
                    "the storage account is not set: set AZURE_STORAGE_ACCOUNT_NAME, or name it in the URL (`abfs://container@account.dfs.core.windows.net/...`)".to_owned()
                } else {
                    message
                }
            })?)
        }
        Scheme::Http => {
            let mut builder = HttpBuilder::new()
                .with_url(&url.root)
                .with_config(
                    ClientConfigKey::AllowHttp,
                    url.root.starts_with("http://").to_string(),
                )
                .with_retry(retry);
            for (key, value) in client {
                builder = builder.with_config(key, value);
            }
            Arc::new(builder.build().map_err(one_line_error)?)
        }
    };
    Ok(store)
}

/// An S3 client's builder: credentials from `local`, the profile named in `config` or
/// `AWS_PROFILE`, the environment, or the default profile, in that order; region and endpoint
/// from `config` over the environment.
fn s3_builder(
    url: &ObjectUrl,
    config: &RemoteConfig,
    local: Option<&RemoteCredentials>,
) -> Result<AmazonS3Builder, String> {
    // `from_env` reads AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP and the
    // web identity, container and instance-metadata settings, as the AWS SDKs do.
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(&url.bucket);
    let env_key = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    let profile_name = config
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok());
    let profile = match &profile_name {
        Some(p) => Some(profile_settings(p).ok_or_else(|| {
            format!("AWS profile `{p}` is in neither `~/.aws/credentials` nor `~/.aws/config`")
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
    Ok(builder)
}

/// Where a store's credentials come from, for `mlops remote list` (never the secret).
pub(crate) fn credentials_source(
    url: &ObjectUrl,
    config: &RemoteConfig,
    local: Option<&RemoteCredentials>,
) -> String {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let first_set = |names: &[&str]| {
        names
            .iter()
            .find(|n| set(n))
            .map(|n| format!("environment ({n})"))
    };
    match url.scheme {
        Scheme::S3 => {}
        Scheme::Gcs => {
            return first_set(&[
                "GOOGLE_SERVICE_ACCOUNT",
                "GOOGLE_SERVICE_ACCOUNT_PATH",
                "GOOGLE_SERVICE_ACCOUNT_KEY",
                "GOOGLE_APPLICATION_CREDENTIALS",
            ])
            .unwrap_or_else(|| {
                "application-default credentials (`gcloud auth application-default login`) or instance metadata".to_owned()
            });
        }
        Scheme::Azure => {
            if std::env::var("AZURE_STORAGE_USE_EMULATOR").is_ok_and(|v| v == "true") {
                return "the Azurite emulator (AZURE_STORAGE_USE_EMULATOR)".to_owned();
            }
            return first_set(&[
                "AZURE_STORAGE_ACCOUNT_KEY",
                "AZURE_STORAGE_SAS_KEY",
                "AZURE_CLIENT_SECRET",
                "AZURE_FEDERATED_TOKEN_FILE",
            ])
            .unwrap_or_else(|| "managed identity (no other source found)".to_owned());
        }
        Scheme::Http => return "none (plain HTTP)".to_owned(),
    }
    if local.is_some() {
        return "config.local.yaml".to_owned();
    }
    if let Some(profile) = &config.profile {
        return format!("AWS profile `{profile}`");
    }
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

/// What a failed request means to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// 401 or 403: wrong or missing credentials, or a missing permission.
    Denied,
    /// 404: no such bucket, container or key.
    NotFound,
    /// Anything else: the network, the endpoint, a 5xx after the retries.
    Other,
}

/// Classifies a failed request and says it in one line (without an error document's XML).
pub(crate) fn classify(err: &object_store::Error) -> (Failure, String) {
    let message = one_line(&err.to_string());
    // A listing's failure comes as `Generic`, its HTTP status only in the message.
    let status = |code: &str| {
        message.contains(&format!("status code: {code}"))
            || message.contains(&format!("status {code}"))
    };
    let failure = match err {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => Failure::Denied,
        _ if status("401") || status("403") => Failure::Denied,
        object_store::Error::NotFound { .. } => Failure::NotFound,
        _ if status("404") => Failure::NotFound,
        _ => Failure::Other,
    };
    (failure, message)
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "called as `map_err(one_line_error)`"
)]
fn one_line_error(err: object_store::Error) -> String {
    one_line(&err.to_string())
}

/// An error message on one line, without an S3 error document's XML: its code and message.
pub(crate) fn one_line(message: &str) -> String {
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
    fn urls_split_into_store_and_prefix() {
        let ok = |url: &str| {
            let u = ObjectUrl::parse(url).expect("a URL").expect("valid");
            (u.scheme, u.root, u.prefix)
        };
        assert_eq!(
            ok("s3://my-bucket"),
            (Scheme::S3, "s3://my-bucket".into(), String::new())
        );
        assert_eq!(
            ok("s3://my-bucket/a/b/"),
            (Scheme::S3, "s3://my-bucket".into(), "a/b".into())
        );
        assert_eq!(
            ok("gs://data_lake/x.parquet"),
            (Scheme::Gcs, "gs://data_lake".into(), "x.parquet".into())
        );
        assert_eq!(
            ok("az://models/v1"),
            (Scheme::Azure, "az://models".into(), "v1".into())
        );
        assert_eq!(
            ok("abfss://models@acct.dfs.core.windows.net/v1"),
            (
                Scheme::Azure,
                "abfss://models@acct.dfs.core.windows.net".into(),
                "v1".into()
            )
        );
        assert_eq!(
            ok("https://host/d/a.csv?v=2&t=x"),
            (
                Scheme::Http,
                "https://host/?v=2&t=x".into(),
                "d/a.csv".into()
            )
        );
        assert_eq!(
            ok("http://127.0.0.1:8080/d/a.csv"),
            (
                Scheme::Http,
                "http://127.0.0.1:8080".into(),
                "d/a.csv".into()
            )
        );
        assert!(ObjectUrl::parse("/tmp/x").is_none());
        assert!(ObjectUrl::parse("file:///tmp/x").is_none());
        assert!(ObjectUrl::parse("s3://B").expect("s3").is_err());
        assert!(ObjectUrl::parse("az://a_b").expect("az").is_err());
        assert!(ObjectUrl::parse("abfs://models/v1").expect("abfs").is_err());
        assert!(
            ObjectUrl::parse("s3://my-bucket/a/../b")
                .expect("s3")
                .is_err()
        );
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
