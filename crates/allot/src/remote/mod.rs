//! The client commands of the `allot` binary: log in to a server once, then list, check,
//! import and export over its native API, with the typed client.

mod csv_files;
mod export;
mod import;
pub mod output;
mod profiles;
mod read;

use allot_client::{Call, Client};
use anyhow::{Context as _, Result, anyhow, bail};
use serde::de::DeserializeOwned;

use output::Format;
use profiles::{Login, Profile, Profiles};

/// Where a command sends its requests and how it prints the answers. Flags override
/// `ALLOT_SERVER`, `ALLOT_PROFILE` and `ALLOT_TOKEN`, which override the profile.
#[derive(clap::Args, Clone, Debug)]
pub struct Remote {
    /// The server's URL (else the profile's).
    #[arg(long, env = "ALLOT_SERVER", global = true)]
    server: Option<String>,
    /// The profile `allot login` stored.
    #[arg(long, env = "ALLOT_PROFILE", global = true, default_value = profiles::DEFAULT)]
    profile: String,
    /// How to print: a table on a terminal, JSON otherwise, or CSV.
    #[arg(long, short = 'o', value_enum, global = true)]
    output: Option<Format>,
    /// The organization to act on (else the one logged in to).
    #[arg(long, global = true)]
    org: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Log in to a server and keep the login as a profile (the password is prompted).
    Login(LoginArgs),
    /// Revoke the profile's tokens and forget it.
    Logout {
        #[command(flatten)]
        remote: Remote,
    },
    /// Organizations.
    Orgs {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: OrgsCommand,
    },
    /// The organization's pools, or a tenant's service's with --tenant and --service.
    Pools {
        #[command(flatten)]
        remote: Remote,
        #[arg(long, requires = "service")]
        tenant: Option<String>,
        #[arg(long, requires = "tenant")]
        service: Option<String>,
    },
    /// Users: list, import from CSV, export to CSV.
    Users {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Groups.
    Groups {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: GroupsCommand,
    },
    /// Direct licenses: import from CSV, export to CSV.
    Licenses {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: LicensesCommand,
    },
    /// Does USER hold LICENSE (a code, any capability, or code:capability)?
    Check {
        #[command(flatten)]
        remote: Remote,
        user: String,
        license: String,
    },
    /// Who holds LICENSE, now or --as-of a moment.
    Holders {
        #[command(flatten)]
        remote: Remote,
        license: String,
        /// RFC 3339, or a date (midnight UTC).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// The ledger: every change, oldest first.
    Ledger {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        filter: read::LedgerFilter,
        /// After the entries so far, print new ones as they come (JSON lines with -o json).
        #[arg(long)]
        follow: bool,
        #[command(subcommand)]
        command: Option<LedgerCommand>,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
}

#[derive(clap::Args)]
pub struct LoginArgs {
    #[arg(long, env = "ALLOT_SERVER")]
    server: String,
    /// The profile to store the login as.
    #[arg(long, env = "ALLOT_PROFILE", default_value = profiles::DEFAULT)]
    profile: String,
    /// A person: a host admin, or with --organization an organization's reader or admin.
    #[arg(long, required_unless_present = "client_id", conflicts_with = "client_id")]
    username: Option<String>,
    #[arg(long, requires = "username")]
    organization: Option<String>,
    /// Read the password from the first line of stdin instead of prompting.
    #[arg(long, requires = "username")]
    password_stdin: bool,
    /// An API client, with its secret read from stdin.
    #[arg(long, requires = "client_secret_stdin")]
    client_id: Option<String>,
    #[arg(long, requires = "client_id")]
    client_secret_stdin: bool,
}

#[derive(clap::Subcommand)]
pub enum OrgsCommand {
    List,
}

#[derive(clap::Subcommand)]
pub enum GroupsCommand {
    List,
}

#[derive(clap::Subcommand)]
pub enum UsersCommand {
    List {
        /// Holding this license: a code (any capability) or code:capability.
        #[arg(long)]
        license: Option<String>,
        /// Members of this group.
        #[arg(long)]
        group: Option<String>,
        /// A part of the id, name or email, in any case.
        #[arg(long)]
        search: Option<String>,
    },
    /// Users from a CSV file (columns id,name,email,role,groups; groups separated by `;`):
    /// each listed user is created or updated, and with a groups column belongs to exactly
    /// those groups (--mode add: at least those).
    Import(import::ImportArgs),
    /// Every user, as CSV in the import's columns.
    Export,
}

#[derive(clap::Subcommand)]
pub enum LicensesCommand {
    /// Direct licenses from a CSV file (columns user,license,external,valid_from,valid_until):
    /// each listed user's direct licenses become exactly the file's rows (--mode add: at
    /// least those).
    Import(import::ImportArgs),
    /// Every user's direct licenses, as CSV in the import's columns.
    Export,
}

#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// The ledger's entries (filtered as asked), as CSV.
    Export,
}

/// Runs a client command.
pub async fn run(command: Command) -> Result<()> {
    match command {
        Command::Login(args) => login(args).await,
        Command::Logout { remote } => logout(&remote).await,
        Command::Orgs { remote, command: OrgsCommand::List } => read::orgs(&mut Session::open(&remote)?).await,
        Command::Pools { remote, tenant, service } => {
            let place = tenant.zip(service);
            read::pools(&mut Session::open(&remote)?, place.as_ref().map(|(t, s)| (t.as_str(), s.as_str()))).await
        }
        Command::Users { remote, command } => {
            let mut session = Session::open(&remote)?;
            match command {
                UsersCommand::List { license, group, search } => {
                    read::users(&mut session, allot_api::UserQuery { license, group, search, ..Default::default() })
                        .await
                }
                UsersCommand::Import(args) => import::users(&mut session, &args).await,
                UsersCommand::Export => export::users(&mut session).await,
            }
        }
        Command::Groups { remote, command: GroupsCommand::List } => read::groups(&mut Session::open(&remote)?).await,
        Command::Licenses { remote, command } => {
            let mut session = Session::open(&remote)?;
            match command {
                LicensesCommand::Import(args) => import::licenses(&mut session, &args).await,
                LicensesCommand::Export => export::licenses(&mut session).await,
            }
        }
        Command::Check { remote, user, license } => read::check(&mut Session::open(&remote)?, &user, &license).await,
        Command::Holders { remote, license, as_of } => {
            read::holders(&mut Session::open(&remote)?, &license, as_of.as_deref()).await
        }
        Command::Ledger { remote, filter, follow, command } => {
            let mut session = Session::open(&remote)?;
            match command {
                Some(LedgerCommand::Export) => export::ledger(&mut session, &filter).await,
                None => read::ledger(&mut session, &filter, follow).await,
            }
        }
        Command::Completions { shell } => {
            let mut command = <crate::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "allot", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// A server to call, as a profile or the environment names it, with a token that is
/// refreshed when it runs out.
pub struct Session {
    client: Client,
    /// The profile the token came from and is refreshed into; none with `ALLOT_TOKEN`.
    profile: Option<(String, Profile)>,
    org: Option<String>,
    pub format: Format,
}

/// Seconds before its expiry at which a token is refreshed rather than sent.
const REFRESH_EARLY_SECS: i64 = 30;

impl Session {
    pub fn open(remote: &Remote) -> Result<Self> {
        let stored = Profiles::load(&profiles::path()?)?.profiles.remove(&remote.profile);
        let token = std::env::var("ALLOT_TOKEN").ok().filter(|t| !t.is_empty());
        let server =
            remote.server.clone().or_else(|| stored.as_ref().map(|p| p.server.clone())).with_context(|| {
                format!(
                    "no server: log in with `allot login --server URL` (profile `{}`), or pass --server",
                    remote.profile
                )
            })?;
        let org = remote.org.clone().or_else(|| stored.as_ref().and_then(|p| p.organization.clone()));
        let format = Format::or_default(remote.output);
        let client = Client::new(server.as_str());
        if let Some(token) = token {
            return Ok(Self { client: client.with_token(token), profile: None, org, format });
        }
        let stored = stored.with_context(|| {
            format!(
                "not logged in: run `allot login --server {server}` (profile `{}`) or set ALLOT_TOKEN",
                remote.profile
            )
        })?;
        let client = client.with_token(stored.access_token.clone());
        Ok(Self { client, profile: Some((remote.profile.clone(), stored)), org, format })
    }

    /// The organization the command acts on.
    pub fn org(&self) -> Result<String> {
        self.org.clone().context("name an organization with --org (the login is not an organization's)")
    }

    /// Sends the call `make` builds, with a fresh token: refreshed first if it is about to
    /// run out, and once more if the server refuses it.
    pub async fn call<T: DeserializeOwned + Send + 'static>(&mut self, make: impl Fn(&Client) -> Call<T>) -> Result<T> {
        if self.profile.as_ref().is_some_and(|(_, p)| p.access_expires_at - REFRESH_EARLY_SECS <= now_secs()) {
            self.refresh().await?;
        }
        match make(&self.client).await {
            Err(error) if error.status().is_some_and(|s| s.as_u16() == 401) && self.profile.is_some() => {
                self.refresh().await?;
                Ok(make(&self.client).await?)
            }
            answer => Ok(answer?),
        }
    }

    /// A new access token for the profile, stored with it. Commands running at once take
    /// turns: a refresh token works once, so the second finds the first one's new token in
    /// the file and takes it, rather than refreshing with a spent one.
    async fn refresh(&mut self) -> Result<()> {
        let Some((name, profile)) = self.profile.as_mut() else { bail!("the token of ALLOT_TOKEN was refused") };
        let _turn = profiles::lock()?;
        let stored = Profiles::load(&profiles::path()?)?.profiles.remove(name.as_str());
        if let Some(stored) = stored.filter(|s| s.access_token != profile.access_token) {
            self.client = Client::new(stored.server.as_str()).with_token(stored.access_token.clone());
            *profile = stored;
            return Ok(());
        }
        let anonymous = Client::new(profile.server.as_str());
        let again = || anyhow!("the login of profile `{name}` has run out: run `allot login` again");
        let tokens = match &profile.login {
            Login::Password { refresh_token: Some(token), .. } => anonymous.refresh(token).await,
            Login::Password { refresh_token: None, .. } => return Err(again()),
            Login::Client { client_id, client_secret } => {
                anonymous.client_credentials(client_id, client_secret, None).await
            }
        }
        .map_err(|error| again().context(error))?;
        if let (Login::Password { refresh_token, .. }, Some(new)) = (&mut profile.login, tokens.refresh_token.clone()) {
            *refresh_token = Some(new);
        }
        profile.access_token = tokens.access_token.clone();
        profile.access_expires_at = expiry(&tokens);
        save_profile(name, profile.clone())?;
        self.client = anonymous.with_token(tokens.access_token);
        Ok(())
    }
}

/// When an access token just issued expires, in Unix seconds.
fn expiry(tokens: &allot_client::Tokens) -> i64 {
    now_secs().saturating_add(i64::try_from(tokens.expires_in).unwrap_or(i64::MAX))
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Stores `profile` as `name`, in turn with other commands.
fn store_profile(name: &str, profile: Profile) -> Result<()> {
    let _turn = profiles::lock()?;
    save_profile(name, profile)
}

/// Stores `profile` as `name`; the caller holds the lock.
fn save_profile(name: &str, profile: Profile) -> Result<()> {
    let file = profiles::path()?;
    let mut profiles = Profiles::load(&file)?;
    profiles.profiles.insert(name.to_owned(), profile);
    profiles.save(&file)
}

async fn login(args: LoginArgs) -> Result<()> {
    let anonymous = Client::new(args.server.as_str());
    let (tokens, login, organization) = match (&args.username, &args.client_id) {
        (Some(username), _) => {
            let password = if args.password_stdin {
                crate::terminal::stdin_line("password")?
            } else {
                crate::terminal::ask_hidden("Password: ")?
            };
            let tokens = anonymous.login(args.organization.as_deref(), username, &password).await;
            let tokens = tokens.map_err(|e| anyhow!("cannot log in to {} as {username}: {e}", args.server))?;
            let login = Login::Password { username: username.clone(), refresh_token: tokens.refresh_token.clone() };
            (tokens, login, args.organization.clone())
        }
        (None, Some(client_id)) => {
            let secret = crate::terminal::stdin_line("client secret")?;
            let tokens = anonymous.client_credentials(client_id, &secret, None).await;
            let tokens = tokens.map_err(|e| anyhow!("cannot log in to {} as client {client_id}: {e}", args.server))?;
            // A client belongs to one organization: the only one it can see.
            let visible = anonymous.with_token(tokens.access_token.clone()).orgs().await?.organizations;
            let organization = (visible.len() == 1).then(|| visible[0].id.clone());
            (tokens, Login::Client { client_id: client_id.clone(), client_secret: secret }, organization)
        }
        (None, None) => bail!("name --username or --client-id"),
    };
    let profile = Profile {
        server: args.server.clone(),
        organization,
        login,
        access_expires_at: expiry(&tokens),
        access_token: tokens.access_token,
    };
    store_profile(&args.profile, profile)?;
    eprintln!(
        "allot: logged in to {}; stored as profile `{}` in {}",
        args.server,
        args.profile,
        profiles::path()?.display()
    );
    Ok(())
}

async fn logout(remote: &Remote) -> Result<()> {
    let _turn = profiles::lock()?;
    let file = profiles::path()?;
    let mut profiles = Profiles::load(&file)?;
    let profile =
        profiles.profiles.remove(&remote.profile).with_context(|| format!("no profile `{}`", remote.profile))?;
    let anonymous = Client::new(profile.server.as_str());
    let mut revoked = vec![profile.access_token.as_str()];
    if let Login::Password { refresh_token: Some(token), .. } = &profile.login {
        revoked.push(token);
    }
    for token in revoked {
        // A server that cannot be reached still leaves the profile forgotten here.
        if let Err(error) = anonymous.revoke(token).await {
            eprintln!("allot: warning: cannot revoke a token at {}: {error}", profile.server);
        }
    }
    profiles.save(&file)?;
    eprintln!("allot: logged out of {}; profile `{}` forgotten", profile.server, remote.profile);
    Ok(())
}

/// A moment as the API takes it: RFC 3339 as given, a date as its midnight UTC.
pub fn moment(raw: &str) -> Result<String> {
    use time::format_description::well_known::Rfc3339;
    if time::OffsetDateTime::parse(raw, &Rfc3339).is_ok() {
        return Ok(raw.to_owned());
    }
    let date = time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| anyhow!("`{raw}` is neither an RFC 3339 moment nor a date (YYYY-MM-DD)"))?;
    Ok(date.midnight().assume_utc().format(&Rfc3339)?)
}
