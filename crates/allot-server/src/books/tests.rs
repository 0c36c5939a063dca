//! The books' promise to readers: what they read is the last committed state, never a plan
//! in progress, and a plan that panics leaves nothing of itself behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};

use allot_core::{DirectLicense, Grant, LicenseKey, OrgId, UserId};

use super::*;

const NOW: Timestamp = 1_700_000_000_000;
const USERS: usize = 10_000;

fn actor() -> Actor {
    Actor { name: "test".into(), request_id: "r".into() }
}

fn org() -> OrgId {
    OrgId::parse("acme").unwrap()
}

fn license() -> LicenseKey {
    LicenseKey::parse("ATTUNU").unwrap()
}

fn user(n: usize) -> UserId {
    UserId::parse(&format!("u{n}")).unwrap()
}

fn give(n: usize) -> Command {
    Command::SetDirectLicenses { org: org(), user: user(n), licenses: vec![DirectLicense::of(license(), false)] }
}

fn holds(books: &Books, n: usize) -> bool {
    books.read().check("acme", &format!("u{n}"), "ATTUNU", NOW).allowed
}

/// Books on a new SQLite file, with organization `acme`, `users` users and a pool of
/// ATTUNU for all of them.
async fn books(dir: &tempfile::TempDir, users: usize) -> Books {
    let store = Backend::Sqlite(allot_store::SqliteStore::open(&dir.path().join("allot.db")).unwrap());
    let books = Books::new(store.load().await.unwrap(), store).unwrap();
    let grant = Grant { quantity: users as i64, ..Grant::default() };
    let mut setup = vec![
        Command::SetHostPool { license: license(), grant },
        Command::CreateOrg { org: org(), name: "Acme".into() },
        Command::SetOrgPool { org: org(), license: license(), grant },
    ];
    setup.extend((0..users).map(|n| Command::CreateUser {
        org: org(),
        user: user(n),
        profile: allot_core::UserProfile::default(),
    }));
    let outcome = books.apply(&setup, &actor(), NOW).await.unwrap();
    assert!(outcome.applied, "{:?}", outcome.plan.violations);
    books
}

/// While a validation of a 10,000-user change plans again and again, every check is
/// answered from the last committed state: no user ever holds what was only planned. Once
/// the same change is committed, every check sees all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validating_a_10000_user_change_leaves_every_check_on_the_committed_state() {
    let dir = tempfile::tempdir().unwrap();
    let books = books(&dir, USERS).await;
    let change: Vec<Command> = (0..USERS).map(give).collect();
    let committed = books.read().revision();
    let done = Arc::new(AtomicBool::new(false));
    let validations = {
        let (books, change, done) = (books.clone(), change.clone(), done.clone());
        std::thread::spawn(move || {
            let mut planned = 0;
            while planned < 5 || !done.load(Ordering::Relaxed) {
                let outcome = books.validate(&change, NOW);
                assert!(outcome.plan.is_possible() && outcome.plan.changes.len() >= USERS);
                planned += 1;
            }
            planned
        })
    };
    let mut checks = 0;
    while !validations.is_finished() {
        for n in (checks % 97..USERS).step_by(97) {
            assert!(!holds(&books, n), "user u{n} holds a license only planned");
            checks += 1;
        }
        assert_eq!(books.read().revision(), committed);
        done.store(checks >= 20_000, Ordering::Relaxed);
        tokio::task::yield_now().await;
    }
    assert!(validations.join().unwrap() >= 5);
    assert!(checks >= 20_000);

    let applied = books.apply(&change, &actor(), NOW).await.unwrap();
    assert!(applied.applied);
    assert_eq!(books.read().revision(), committed + 1);
    assert!((0..USERS).all(|n| holds(&books, n)), "a committed change is seen whole");
}

/// A write whose planning panics after the group's copy was changed (here its precondition,
/// judged after the write before it was applied to the copy) is answered with an error, and
/// nothing of it is served; the write planned with it, and the committer, carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_while_planning_a_group_serves_nothing_half_planned() {
    let dir = tempfile::tempdir().unwrap();
    let books = books(&dir, 3).await;
    let before = books.read().revision();
    let panicking: Precondition = Box::new(|_, _| panic!("a bug while planning"));
    let (zero, one, actor) = ([give(0)], [give(1)], actor());
    let (first, second) =
        tokio::join!(books.apply(&zero, &actor, NOW), books.apply_if(&one, &actor, NOW, None, panicking));
    assert!(first.unwrap().applied, "the other write of the group applies");
    assert!(second.is_err(), "the panicking write is answered with an error");
    assert!(holds(&books, 0));
    assert!(!holds(&books, 1), "nothing of the panicking write is served");
    assert_eq!(books.read().revision(), before + 1);
    let state = books.read();
    assert_eq!(state.org("acme").unwrap().pool(&license()).allocated, 1);

    // A validation that panics leaves the books as they were too.
    let validation = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut draft = books.shared.draft();
        draft.apply_all(draft.revision() + 1, &books.validate(&[give(2)], NOW).plan.changes).unwrap();
        assert!(draft.check("acme", "u2", "ATTUNU", NOW).allowed);
        panic!("a bug while validating");
    }));
    assert!(validation.is_err());
    assert!(!holds(&books, 2));

    let next = books.apply(&[give(2)], &actor, NOW).await.unwrap();
    assert!(next.applied && holds(&books, 2), "the committer carries on");
}
