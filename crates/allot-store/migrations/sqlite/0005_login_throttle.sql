-- Failed-login counters, shared by every process on the database. A login reserves an
-- attempt on each of its rows before the password is hashed, so a burst of parallel
-- guesses gets no more evaluations than the limit allows.
CREATE TABLE login_throttle (
    scope        TEXT NOT NULL,         -- 'pair' (account at an address), 'account' or 'address'
    realm        TEXT NOT NULL,         -- '' for host admins, an organization key, '@client' for API clients
    username     TEXT NOT NULL,         -- '' for 'address'
    addr         TEXT NOT NULL,         -- '' for 'account'
    failures     INTEGER NOT NULL,      -- attempts reserved in the window, less those that succeeded
    window_start INTEGER NOT NULL,
    next_at      INTEGER NOT NULL,      -- no attempt before this: the progressive delay
    PRIMARY KEY (scope, realm, username, addr)
) STRICT;
