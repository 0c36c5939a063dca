//! The `allot` binary as a client, run as an IT admin runs it: logged in with a profile,
//! against the real server on a random port, printing tables, JSON and CSV, importing CSV
//! files with a dry run first, and exporting them back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use allot_api::{ErrorCode, LedgerParams};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::{TestApp, group, licenses, refused, rule, spawn_app};

/// The `allot` binary with a config directory of its own, and none of the test's `ALLOT_*`.
struct Cli {
    config: tempfile::TempDir,
}

/// What a run printed, and how it ended.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn new() -> Self {
        Self { config: tempfile::tempdir().unwrap() }
    }

    fn profiles(&self) -> PathBuf {
        self.config.path().join("allot").join("profiles.toml")
    }

    /// `allot ARGS`, with this config directory, its output piped.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_allot"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("ALLOT_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        command.args(args).env("XDG_CONFIG_HOME", self.config.path()).env("HOME", self.config.path());
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    }

    /// Runs `allot ARGS`, with `stdin` on its standard input.
    async fn run(&self, args: &[&str], stdin: &str) -> Ran {
        let mut command = self.command(args);
        let stdin = stdin.to_owned();
        // Blocking, off the runtime that serves the server it calls.
        let output: Output = tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        let ran = Ran {
            ok: output.status.success(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        eprintln!("allot {args:?}: ok {}\nstdout:\n{}stderr:\n{}", ran.ok, ran.stdout, ran.stderr);
        ran
    }

    /// Runs `allot ARGS` and answers its stdout; fails the test if it fails.
    async fn ok(&self, args: &[&str]) -> String {
        let ran = self.run(args, "").await;
        assert!(ran.ok, "allot {args:?} failed: {}", ran.stderr);
        ran.stdout
    }

    /// Logs in to `server` as the host admin, as profile `default`.
    async fn login_admin(&self, server: &str) {
        let ran = self.run(&["login", "--server", server, "--username", "admin", "--password-stdin"], "x\n").await;
        assert!(!ran.ok, "a wrong password logs no one in");
        let password = format!("{}\n", crate::harness::ADMIN_PASSWORD);
        let ran = self.run(&["login", "--server", server, "--username", "admin", "--password-stdin"], &password).await;
        assert!(ran.ok, "{}", ran.stderr);
    }

    /// Makes the stored access token look expired, as it would be some time later.
    fn expire_token(&self) {
        let text = std::fs::read_to_string(self.profiles()).unwrap();
        let expired =
            text.lines().map(|l| if l.starts_with("access_expires_at") { "access_expires_at = 0" } else { l });
        std::fs::write(self.profiles(), expired.collect::<Vec<_>>().join("\n")).unwrap();
    }

    fn profile(&self) -> toml::Table {
        toml::from_str(&std::fs::read_to_string(self.profiles()).unwrap()).unwrap()
    }
}

fn server(t: &TestApp) -> String {
    format!("http://{}", t.addr)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn login_keeps_a_profile_for_its_owner_that_refreshes_itself_and_logout_revokes_it() {
    let t = spawn_app().await;
    let cli = Cli::new();
    cli.login_admin(&server(&t)).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(cli.profiles()).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(cli.ok(&["orgs", "list", "-o", "json"]).await.trim(), "[]");

    // The access token runs out: the next command refreshes it, and keeps the new one.
    let before = cli.profile();
    let token = |profile: &toml::Table, field: &str| {
        let default = &profile["profiles"]["default"];
        default.get(field).or_else(|| default["login"].get(field)).unwrap().as_str().unwrap().to_owned()
    };
    cli.expire_token();
    assert_eq!(cli.ok(&["orgs", "list", "-o", "json"]).await.trim(), "[]");
    let after = cli.profile();
    assert_ne!(token(&before, "access_token"), token(&after, "access_token"));
    assert_ne!(token(&before, "refresh_token"), token(&after, "refresh_token"), "a refresh token works once");

    // Commands run at once with a token run out: they take turns, and the refresh token,
    // which works once, is spent once.
    cli.expire_token();
    let at_once: Vec<_> = (0..4).map(|_| cli.run(&["orgs", "list", "-o", "json"], "")).collect();
    for ran in futures_util::future::join_all(at_once).await {
        assert!(ran.ok, "{}", ran.stderr);
    }

    // A token the server revoked behind the profile's back: refreshed on the 401.
    t.anonymous().revoke(&token(&cli.profile(), "access_token")).await.unwrap();
    assert_eq!(cli.ok(&["orgs", "list", "-o", "json"]).await.trim(), "[]");

    let last = token(&cli.profile(), "access_token");
    cli.ok(&["logout"]).await;
    assert!(cli.profile().get("profiles").and_then(|p| p.get("default")).is_none(), "the profile is forgotten");
    assert_eq!(refused(t.client(&last).orgs().await).0, 401, "and its token revoked");
    let ran = cli.run(&["orgs", "list"], "").await;
    assert!(!ran.ok && ran.stderr.contains("allot login"), "{}", ran.stderr);

    // ALLOT_TOKEN and --server stand in for a profile.
    let token = t.admin().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_allot"));
    command.args(["orgs", "list", "-o", "csv", "--server", &server(&t)]).env("ALLOT_TOKEN", &token);
    command.env("XDG_CONFIG_HOME", cli.config.path());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "id,name,users,groups\n");
}

#[tokio::test]
async fn an_api_client_logs_in_with_its_secret_on_stdin_and_acts_on_its_own_organization() {
    let t = spawn_app().await;
    let boss = acme(&t).await;
    let created = t
        .client(&boss)
        .create_client("acme", &allot_api::CreateClient { name: "sync".into(), scopes: vec!["allot:read".into()] });
    let created = created.await.unwrap();
    let cli = Cli::new();
    let login = ["login", "--server", &server(&t), "--client-id", &created.client_id, "--client-secret-stdin"];
    let ran = cli.run(&login, &format!("{}\n", created.client_secret)).await;
    assert!(ran.ok, "{}", ran.stderr);
    assert!(!std::fs::read_to_string(cli.profiles()).unwrap().is_empty());
    // No --org: the client's own organization.
    assert_eq!(
        cli.ok(&["users", "list", "--license", "ATTUNU", "-o", "csv"]).await,
        "id,name,email,role,groups\nana,ana,,member,\n"
    );
    // Its token runs out: the secret gets a new one (clients have no refresh token).
    cli.expire_token();
    assert_eq!(
        cli.ok(&["check", "ana", "ATTUNU", "-o", "csv"]).await,
        "allowed,reason,via,group,revision\ntrue,held,direct,,10\n"
    );
    let ran = cli
        .run(&["login", "--server", &server(&t), "--client-id", &created.client_id, "--client-secret-stdin"], "wrong\n")
        .await;
    assert!(!ran.ok && ran.stderr.contains("cannot log in"), "{}", ran.stderr);
}

#[tokio::test]
async fn imports_in_add_mode_only_add() {
    let t = spawn_app().await;
    let boss = acme(&t).await;
    let client = t.client(&boss);
    client.create_group("acme", &group("ops")).await.unwrap();
    let cli = Cli::new();
    cli.login_admin(&server(&t)).await;
    let dir = tempfile::tempdir().unwrap();
    // ben is in qa: in add mode a file naming only ops keeps him there.
    let users = write(dir.path(), "users.csv", "id,groups\nben,ops\n");
    cli.ok(&["users", "import", &users, "--org", "acme", "--mode", "add"]).await;
    assert_eq!(client.user("acme", "ben").await.unwrap().groups, ["ops", "qa"]);
    cli.ok(&["users", "import", &users, "--org", "acme"]).await;
    assert_eq!(client.user("acme", "ben").await.unwrap().groups, ["ops"], "exact: only the file's groups");
    // ana holds ATTUNU: adding TSTNU keeps it; a listed product's license is replaced.
    let held = write(dir.path(), "licenses.csv", "user,license,external\nana,TSTNU,true\n");
    cli.ok(&["licenses", "import", &held, "--org", "acme", "--mode", "add"]).await;
    let licenses_of = |user: &'static str| {
        let client = client.clone();
        async move {
            let held = client.user_licenses("acme", user).await.unwrap().licenses;
            held.into_iter().map(|l| (l.license, l.external)).collect::<Vec<_>>()
        }
    };
    assert_eq!(licenses_of("ana").await, [("ATTUNU".to_owned(), false), ("TSTNU".to_owned(), true)]);
    let again = write(dir.path(), "again.csv", "user,license\nana,TSTNU\n");
    cli.ok(&["licenses", "import", &again, "--org", "acme", "--mode", "add"]).await;
    assert_eq!(licenses_of("ana").await, [("ATTUNU".to_owned(), false), ("TSTNU".to_owned(), false)]);
}

/// An organization `acme` with pools, a group whose rule gives a license, and users
/// holding licenses directly and through the group.
async fn acme(t: &TestApp) -> String {
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 3), ("TSTNU", 10)], &["ana", "ben"]).await;
    let client = t.client(&boss);
    client.set_user_licenses("acme", "ana", &licenses(&["ATTUNU"])).await.unwrap();
    client.create_group("acme", &group("qa")).await.unwrap();
    client.set_group_rule("acme", "qa", &rule(&["TSTNU"])).await.unwrap();
    client.add_member("acme", "qa", "ben").await.unwrap();
    boss
}

#[tokio::test]
async fn every_read_command_prints_a_table_json_and_csv() {
    let t = spawn_app().await;
    acme(&t).await;
    let cli = Cli::new();
    cli.login_admin(&server(&t)).await;
    let mut printed = String::new();
    let commands: &[&[&str]] = &[
        &["orgs", "list"],
        &["pools", "--org", "acme"],
        &["users", "list", "--org", "acme"],
        &["users", "list", "--org", "acme", "--license", "TSTNU"],
        &["groups", "list", "--org", "acme"],
        &["check", "ben", "TSTNU", "--org", "acme"],
        &["holders", "ATTUNU", "--org", "acme"],
        &["ledger", "--org", "acme", "--user", "ben"],
    ];
    for command in commands {
        for format in ["table", "json", "csv"] {
            let out = cli.ok(&[command, &["-o", format][..]].concat()).await;
            printed.push_str(&format!("$ allot {} -o {format}\n{out}\n", command.join(" ")));
        }
    }
    // An import's plan, in each format.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "licenses.csv", "user,license\nben,ATTUNU\nben,TSTNU\n");
    for format in ["table", "json", "csv"] {
        let out = cli.ok(&["licenses", "import", &file, "--org", "acme", "--dry-run", "-o", format]).await;
        printed.push_str(&format!("$ allot licenses import licenses.csv --dry-run -o {format}\n{out}\n"));
    }
    let printed = printed.replace(&dir.path().display().to_string(), "[dir]");
    // The server's clock is the test's: the ledger's moments are the same on every run;
    // its request ids are not.
    let printed: String = printed
        .lines()
        .map(|line| match line.split_once("\"request_id\": \"") {
            Some((start, _)) => format!("{start}\"request_id\": \"[id]\","),
            None => line.to_owned(),
        })
        .map(|line| format!("{line}\n"))
        .collect();
    insta::assert_snapshot!(printed);
    let ran = cli.run(&["users", "list"], "").await;
    assert!(!ran.ok && ran.stderr.contains("--org"), "a host admin names the organization: {}", ran.stderr);
}

// Multi-threaded: the test waits for the lines on its own thread while the server serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_followed_prints_each_new_entry_as_a_json_line() {
    use std::io::BufRead as _;
    let t = spawn_app().await;
    let boss = acme(&t).await;
    let cli = Cli::new();
    cli.login_admin(&server(&t)).await;
    let mut child =
        cli.command(&["ledger", "--org", "acme", "--user", "ana", "--follow", "-o", "json"]).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let next = || {
        let line = received.recv_timeout(std::time::Duration::from_secs(30)).expect("a line within 30 s");
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    };
    assert_eq!(next()["change"]["type"], "user_created", "the entries so far first");
    assert_eq!(next()["change"]["type"], "holding_set");
    t.client(&boss).set_user_licenses("acme", "ana", &licenses(&["TSTNU"])).await.unwrap();
    let (released, taken) = (next(), next());
    let products: Vec<&str> = [&released, &taken].iter().map(|e| e["change"]["product"].as_str().unwrap()).collect();
    assert_eq!(products, ["ATTUNU", "TSTNU"], "then each new one, as it comes");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn an_import_is_validated_whole_shown_then_applied_and_a_file_over_the_pool_changes_nothing() {
    let t = spawn_app().await;
    let boss = acme(&t).await;
    let cli = Cli::new();
    cli.login_admin(&server(&t)).await;
    let dir = tempfile::tempdir().unwrap();

    // Wrong files are refused before any request, naming the row and the column.
    let wrong = [
        ("id,colour\nana,red\n", "row 1, column 2: `colour` is not a column"),
        ("id,role\nana,boss\n", "row 2, column `role`: `boss` is not member, reader or admin"),
        ("id,name\ncy,Cy\nbo,Bo\ncy,Cyrus\n", "row 4, column `id`: user `cy` is also on row 2"),
        ("id,groups\ncy,qa;nope\n", "row 2, column `groups`: organization `acme` has no group `nope`"),
    ];
    for (text, error) in wrong {
        let file = write(dir.path(), "wrong.csv", text);
        let ran = cli.run(&["users", "import", &file, "--org", "acme"], "").await;
        assert!(!ran.ok && ran.stderr.contains(error), "{text:?}: {}", ran.stderr);
    }

    let users = write(dir.path(), "users.csv", "id,name,email,role,groups\ncy,Cy,cy@example.com,,qa\nana,Ana,,,qa\n");
    let dry = cli.ok(&["users", "import", &users, "--org", "acme", "--dry-run", "-o", "json"]).await;
    let dry: serde_json::Value = serde_json::from_str(&dry).unwrap();
    assert_eq!((dry["possible"].as_bool(), dry["applied"].as_bool()), (Some(true), Some(false)));
    let tst = dry["pools"].as_array().unwrap().iter().find(|p| p["license"] == "TSTNU").unwrap();
    assert_eq!((tst["allocated_before"].as_i64(), tst["allocated_after"].as_i64()), (Some(1), Some(3)));
    assert_eq!(refused(t.client(&boss).user("acme", "cy").await).0, 404, "a dry run changes nothing");
    let applied = cli.ok(&["users", "import", &users, "--org", "acme", "-o", "table"]).await;
    assert!(applied.contains("TSTNU"), "{applied}");
    let cy = t.client(&boss).user("acme", "cy").await.unwrap();
    assert_eq!(
        (cy.name.as_str(), cy.email.as_deref(), cy.groups.as_slice()),
        ("Cy", Some("cy@example.com"), &["qa".to_owned()][..])
    );
    assert_eq!(t.org_pool(&boss, "acme", "TSTNU").await, (10, 3));
    // The same file again once its user is gone: a new change, not a replay of the first.
    let eve = write(dir.path(), "eve.csv", "id,groups\neve,qa\n");
    cli.ok(&["users", "import", &eve, "--org", "acme"]).await;
    t.client(&boss).delete_user("acme", "eve").await.unwrap();
    cli.ok(&["users", "import", &eve, "--org", "acme"]).await;
    assert_eq!(t.client(&boss).user("acme", "eve").await.unwrap().groups, ["qa"]);
    t.client(&boss).delete_user("acme", "eve").await.unwrap();

    let fits = write(dir.path(), "fits.csv", "user,license\nana,ATTUNU\nben,ATTUNU\ncy,ATTUNU\nben,TSTNU\n");
    let all = LedgerParams { limit: Some(1000), ..LedgerParams::default() };
    let entries = t.client(&boss).ledger("acme", &all).await.unwrap().entries.len();
    let grow = write(dir.path(), "grow.csv", "id\ndee\n");
    cli.ok(&["users", "import", &grow, "--org", "acme"]).await;
    // One more unit of ATTUNU than the pool has left: refused whole, the row named.
    let over = write(dir.path(), "over.csv", "user,license\nana,ATTUNU\nben,ATTUNU\ncy,ATTUNU\ndee,ATTUNU\n");
    let ran = cli.run(&["licenses", "import", &over, "--org", "acme", "-o", "json"], "").await;
    assert!(!ran.ok && ran.stderr.contains("not possible"), "{}", ran.stderr);
    let shown: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let violation = &shown["violations"][0];
    assert_eq!(
        (violation["code"].as_str(), violation["row"].as_u64()),
        (Some(ErrorCode::LicenseLimitExceeded.as_str()), Some(5))
    );
    assert_eq!(violation["user"], "dee", "the first row the pool has no unit for");
    assert_eq!(t.client(&boss).ledger("acme", &all).await.unwrap().entries.len(), entries + 1, "only dee's creation");

    // Within the pool: applied, and ben's direct licenses are what the file lists.
    cli.ok(&["licenses", "import", &fits, "--org", "acme"]).await;
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (3, 3));
    let ben = t.client(&boss).user_licenses("acme", "ben").await.unwrap();
    let held: Vec<(&str, allot_api::Via)> = ben.licenses.iter().map(|l| (l.license.as_str(), l.source)).collect();
    assert_eq!(held, [("ATTUNU", allot_api::Via::Direct), ("TSTNU", allot_api::Via::Direct)]);
    let again = cli.run(&["licenses", "import", &fits, "--org", "acme"], "").await;
    assert!(again.ok && again.stderr.contains("nothing to change"), "{}", again.stderr);
}

#[tokio::test]
async fn an_export_imports_back_unchanged() {
    let t = spawn_app().await;
    let boss = acme(&t).await;
    let client = t.client(&boss);
    let external = allot_api::SetUserLicenses {
        licenses: vec![allot_api::LicenseSpec {
            license: "TSTNU".into(),
            external: true,
            valid_from: None,
            valid_until: Some("2027-06-30T00:00:00Z".into()),
        }],
    };
    client.set_user_licenses("acme", "ben", &external).await.unwrap();
    client
        .update_user(
            "acme",
            "ana",
            &allot_api::UpdateUser { email: Some("ana@example.com".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let cli = Cli::new();
    cli.login_admin(&server(&t)).await;
    let dir = tempfile::tempdir().unwrap();
    let users = cli.ok(&["users", "export", "--org", "acme"]).await;
    let held = cli.ok(&["licenses", "export", "--org", "acme"]).await;
    insta::assert_snapshot!(format!("{users}\n{held}"));

    // Into the same organization: nothing changes.
    let users_file = write(dir.path(), "users.csv", &users);
    let held_file = write(dir.path(), "licenses.csv", &held);
    for (what, file) in [("users", &users_file), ("licenses", &held_file)] {
        let ran = cli.run(&[what, "import", file, "--org", "acme"], "").await;
        assert!(ran.ok && ran.stderr.contains("nothing to change"), "{what}: {}", ran.stderr);
    }
    // Into another organization with the same pools and group: the same files come out.
    let admin = t.admin().await;
    let other = t.org_with(&admin, "beta", &[("ATTUNU", 3), ("TSTNU", 10)], &[]).await;
    t.client(&other).create_group("beta", &group("qa")).await.unwrap();
    t.client(&other).set_group_rule("beta", "qa", &rule(&["TSTNU"])).await.unwrap();
    t.client(&admin).delete_user("beta", "beta-admin").await.unwrap();
    let users_without_boss: String =
        users.lines().filter(|l| !l.starts_with("acme-admin")).map(|l| format!("{l}\n")).collect();
    let beta_users = write(dir.path(), "beta-users.csv", &users_without_boss);
    cli.ok(&["users", "import", &beta_users, "--org", "beta"]).await;
    cli.ok(&["licenses", "import", &held_file, "--org", "beta"]).await;
    assert_eq!(cli.ok(&["users", "export", "--org", "beta"]).await, users_without_boss);
    assert_eq!(cli.ok(&["licenses", "export", "--org", "beta"]).await, held);
    let ledger = cli.ok(&["ledger", "export", "--org", "beta", "--user", "ben"]).await;
    assert!(ledger.starts_with("revision,seq,at,actor,request_id,change,event\n"), "{ledger}");
    assert_eq!(ledger.lines().count(), 1 + 4, "ben created, joins qa, inherits TSTNU, then holds it directly");
}

/// A proxy in front of `upstream` that forwards each request, and for the applied plans
/// `drop_from..` (counted from 1) forwards the request but never answers it: the change is
/// made, the answer is lost. With `once`, only the first of those is lost.
async fn lossy_proxy(upstream: std::net::SocketAddr, drop_from: usize, once: bool) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let applied = Arc::new(AtomicUsize::new(0));
    let counted = applied.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let applied = counted.clone();
            tokio::spawn(async move {
                while let Some(request) = read_message(&mut client).await {
                    let text = String::from_utf8_lossy(&request);
                    let applying =
                        text.starts_with("POST ") && text.contains("/plans ") && text.contains("\"apply\":true");
                    let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    server.write_all(&request).await.unwrap();
                    let answer = read_message(&mut server).await.unwrap();
                    let n = if applying { applied.fetch_add(1, Ordering::SeqCst) + 1 } else { 0 };
                    if applying && n >= drop_from && (!once || n == drop_from) {
                        return; // the connection closes unanswered
                    }
                    client.write_all(&answer).await.unwrap();
                }
            });
        }
    });
    (format!("http://{addr}"), applied)
}

/// One HTTP/1.1 message (head and a `content-length` body) from `stream`.
async fn read_message(stream: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut byte = [0u8; 1];
    while !message.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        message.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&message).to_lowercase();
    let length = head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |n| n.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    message.extend(body);
    Some(message)
}

#[tokio::test]
async fn an_import_whose_answers_are_lost_applies_nothing_twice_and_a_rerun_finishes_it() {
    let t = spawn_app().await;
    let boss = acme(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..7).map(|n| format!("u{n},User {n},qa\n")).collect();
    let users = write(dir.path(), "users.csv", &format!("id,name,groups\n{rows}"));
    let created = |t: &TestApp| {
        let client = t.client(&boss);
        async move {
            let all = LedgerParams { limit: Some(1000), ..LedgerParams::default() };
            let entries = client.ledger("acme", &all).await.unwrap().entries;
            let mut users: Vec<String> = entries
                .iter()
                .filter_map(|e| match &e.change {
                    allot_core::Change::UserCreated { user, .. } => Some(user.to_string()),
                    _ => None,
                })
                .filter(|u| u.starts_with('u'))
                .collect();
            users.sort();
            users
        }
    };
    let everyone: Vec<String> = (0..7).map(|n| format!("u{n}")).collect();

    // The answer to the second part is lost once: the part is sent again with its key and
    // replayed, so the import finishes in one run.
    let (proxy, applied) = lossy_proxy(t.addr, 2, true).await;
    let cli = Cli::new();
    cli.login_admin(&proxy).await;
    cli.ok(&["users", "import", &users, "--org", "acme", "--part-size", "4"]).await;
    assert_eq!(applied.load(Ordering::SeqCst), 5, "four parts of 4 changes, the second sent twice");
    assert_eq!(created(&t).await, everyone, "each user created once");

    // Every answer from the second part on is lost: the run fails saying how far it got,
    // and a run straight to the server finishes the rest.
    let more = write(
        dir.path(),
        "more.csv",
        &format!("id,name,groups\n{}", (7..14).map(|n| format!("u{n},User {n},qa\n")).collect::<String>()),
    );
    let (proxy, _) = lossy_proxy(t.addr, 2, false).await;
    let lossy = Cli::new();
    lossy.login_admin(&proxy).await;
    let ran = lossy.run(&["users", "import", &more, "--org", "acme", "--part-size", "4"], "").await;
    assert!(!ran.ok && ran.stderr.contains("part 2 of 4") && ran.stderr.contains("again"), "{}", ran.stderr);
    let direct = Cli::new();
    direct.login_admin(&server(&t)).await;
    direct.ok(&["users", "import", &more, "--org", "acme", "--part-size", "4"]).await;
    let everyone: Vec<String> = {
        let mut all: Vec<String> = (0..14).map(|n| format!("u{n}")).collect();
        all.sort();
        all
    };
    assert_eq!(created(&t).await, everyone, "each user created once, across the two runs");
    let qa = t.client(&boss).members("acme", "qa").await.unwrap();
    assert_eq!(qa.members.len(), 15, "ben and the fourteen");
}

#[tokio::test]
async fn completions_are_printed_for_each_shell() {
    let cli = Cli::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = cli.ok(&["completions", shell]).await;
        assert!(script.contains("import") && script.contains("login"), "{shell}: {script}");
    }
}
