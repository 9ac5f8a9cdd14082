-- The Convex host's tables as the releases before issue 19 made them (SQLite only).
CREATE TABLE IF NOT EXISTS users (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    tokenIdentifier TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    credits REAL NOT NULL,
    additionalCredits REAL NOT NULL DEFAULT 0,
    reservedCredits REAL NOT NULL DEFAULT 0,
    slotLimit INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS users_by_subject ON users(subject);

CREATE TABLE IF NOT EXISTS generations (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    userId TEXT NOT NULL REFERENCES users(_id),
    type TEXT NOT NULL,
    prompt TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'failed')),
    imageUrl TEXT,
    createdAt REAL NOT NULL,
    completedAt REAL
);
CREATE INDEX IF NOT EXISTS generations_by_user_status ON generations(userId, status);

CREATE TABLE IF NOT EXISTS sessions (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    userId TEXT NOT NULL REFERENCES users(_id),
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    preview TEXT,
    createdAt REAL NOT NULL,
    updatedAt REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(userId, updatedAt);

CREATE TABLE IF NOT EXISTS sessionGenerations (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    sessionId TEXT NOT NULL REFERENCES sessions(_id) ON DELETE CASCADE,
    userId TEXT NOT NULL REFERENCES users(_id),
    prompt TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'image',
    model TEXT NOT NULL,
    modelLabel TEXT,
    aspectRatio TEXT,
    numImages REAL,
    images TEXT NOT NULL DEFAULT '[]',
    isLoading INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    createdAt REAL NOT NULL,
    completedAt REAL,
    externalRequestId TEXT,
    concurrencySlotId TEXT,
    quality TEXT
);
CREATE INDEX IF NOT EXISTS session_generations_by_session
    ON sessionGenerations(sessionId, createdAt);
CREATE INDEX IF NOT EXISTS session_generations_by_user ON sessionGenerations(userId, isLoading);

CREATE TABLE IF NOT EXISTS favorites (
    _id TEXT PRIMARY KEY,
    _creationTime REAL NOT NULL,
    userId TEXT NOT NULL REFERENCES users(_id),
    generationId TEXT NOT NULL REFERENCES sessionGenerations(_id) ON DELETE CASCADE,
    imageUrl TEXT NOT NULL DEFAULT '',
    createdAt REAL NOT NULL,
    UNIQUE (userId, generationId, imageUrl)
);

-- The server's own holds on a generation's cost (backend/billing, docs/billing.md).
CREATE TABLE IF NOT EXISTS holds (
    _id TEXT PRIMARY KEY,
    userId TEXT NOT NULL REFERENCES users(_id),
    key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('one-call', 'slot')),
    bodyHash TEXT NOT NULL,
    slotId TEXT NOT NULL,
    amount REAL NOT NULL,
    numImages INTEGER NOT NULL,
    model TEXT NOT NULL,
    sessionId TEXT,
    generationId TEXT,
    state TEXT NOT NULL CHECK (state IN ('holding', 'submitted', 'settled')),
    jobKey TEXT,
    requestId TEXT,
    responseStatus INTEGER,
    response TEXT,
    charged REAL,
    released REAL,
    outcome TEXT,
    clientAck INTEGER NOT NULL DEFAULT 0,
    cancelRequested INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    createdAt REAL NOT NULL,
    updatedAt REAL NOT NULL,
    checkedAt REAL,
    settledAt REAL,
    UNIQUE (userId, key)
);
CREATE INDEX IF NOT EXISTS holds_by_job ON holds(jobKey);
CREATE INDEX IF NOT EXISTS holds_by_state ON holds(state, updatedAt);
CREATE INDEX IF NOT EXISTS holds_by_ack ON holds(userId, clientAck, amount);
-- Each server process's heartbeat: a hold still "holding" whose owner stopped beating
-- belonged to a server that died mid-call.
CREATE TABLE IF NOT EXISTS billingOwners (
    id TEXT PRIMARY KEY,
    heartbeatAt REAL NOT NULL
);
