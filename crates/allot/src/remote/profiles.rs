//! Profiles: the servers a user has logged in to, each with what a later command needs to
//! call it again (the tokens, and for an API client its secret), in one TOML file in the
//! user's config directory, readable only by them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

/// The profile a command uses when none is named.
pub const DEFAULT: &str = "default";

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Profiles {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    pub server: String,
    /// The organization logged in to; commands act on it unless `--org` names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    pub login: Login,
    pub access_token: String,
    /// Unix seconds.
    pub access_expires_at: i64,
}

/// How the profile gets a new access token once its token expires.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Login {
    /// A person: their refresh token, which works once and is replaced at each refresh.
    Password { username: String, refresh_token: Option<String> },
    /// An API client: its id and secret (API clients get no refresh token).
    Client { client_id: String, client_secret: String },
}

/// `$XDG_CONFIG_HOME/allot/profiles.toml`, else `~/.config/allot/profiles.toml`.
pub fn path() -> Result<PathBuf> {
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").filter(|dir| !dir.is_empty());
            PathBuf::from(home.context("neither XDG_CONFIG_HOME nor HOME is set: no place for the profiles")?)
                .join(".config")
        }
    };
    Ok(config.join("allot").join("profiles.toml"))
}

/// An exclusive lock on the profiles, held until dropped, for a read-modify-write of them.
pub fn lock() -> Result<std::fs::File> {
    let file = path()?.with_extension("lock");
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&file);
    let lock = lock.with_context(|| format!("cannot open {}", file.display()))?;
    lock.lock().with_context(|| format!("cannot lock {}", file.display()))?;
    Ok(lock)
}

impl Profiles {
    /// The profiles in `file`; none when it does not exist.
    pub fn load(file: &Path) -> Result<Self> {
        match std::fs::read_to_string(file) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("{} is not a profiles file", file.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(error).with_context(|| format!("cannot read {}", file.display())),
        }
    }

    /// Writes the profiles to `file`, readable only by its owner: to a file beside it
    /// first, then renamed over it, so a crash leaves the old profiles or the new ones.
    pub fn save(&self, file: &Path) -> Result<()> {
        use std::io::Write as _;
        let dir = file.parent().context("the profiles file has no directory")?;
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let partial = file.with_extension("toml.partial");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = (|| {
            let mut out = options.open(&partial)?;
            out.write_all(toml::to_string_pretty(self).map_err(std::io::Error::other)?.as_bytes())?;
            out.sync_all()?;
            std::fs::rename(&partial, file)
        })();
        written.with_context(|| format!("cannot write {}", file.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_written_for_their_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("allot").join("profiles.toml");
        assert!(Profiles::load(&file).unwrap().profiles.is_empty(), "no file: no profiles");
        let mut profiles = Profiles::default();
        let login = Login::Password { username: "ana".into(), refresh_token: Some("allot_rt_x".into()) };
        let profile = Profile {
            server: "http://127.0.0.1:8080".into(),
            organization: Some("acme".into()),
            login,
            access_token: "allot_at_y".into(),
            access_expires_at: 1_800_000_000,
        };
        profiles.profiles.insert(DEFAULT.into(), profile);
        profiles.save(&file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(file.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        let read = Profiles::load(&file).unwrap();
        let read = &read.profiles[DEFAULT];
        assert_eq!((read.organization.as_deref(), read.access_token.as_str()), (Some("acme"), "allot_at_y"));
        assert!(matches!(&read.login, Login::Password { refresh_token: Some(t), .. } if t == "allot_rt_x"));
    }
}
