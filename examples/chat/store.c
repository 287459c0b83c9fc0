/* examples/chat/store.c - the chat history in SQLite (see store.h).
 *
 * Queued work lives in two lists owned by the loop thread. A batch takes both
 * lists whole and hands them to one uv_queue_work; while it runs, new work
 * queues up for the next batch. Only the worker thread touches the sqlite3
 * handle while a batch runs, and only one batch runs at a time.
 *
 * Retention (store.h) runs in the write transaction of each batch: the rooms
 * just written to are cut to their newest `per_room` messages, the table to
 * its newest `total` (the store counts its rows, so that costs only the rows
 * deleted), and messages older than max_age_ms go by the index on ts. Reads
 * skip expired messages, so expiry is exact even between writes. The next id
 * is kept in chat_meta, so ids never go back when the newest rows are gone.
 */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct pending_msg {
    struct pending_msg *next;
    int64_t id, ts;
    char *room, *name, *text;
} pending_msg;

typedef struct pending_read {
    struct pending_read *next;
    char *room;
    int64_t after;
    int limit;
    chat_history_cb cb;
    void *userdata;
    json_t *result;
} pending_read;

struct chat_store {
    uv_loop_t *loop;
    sqlite3 *db;
    sqlite3_stmt *insert, *last_n, *after_id;
    sqlite3_stmt *prune_room, *prune_oldest, *prune_age, *save_next_id;
    chat_retention keep;
    int64_t rows; /* messages in the table (worker side while a batch runs) */
    int64_t next_id;
    pending_msg *msgs, **msgs_tail;
    pending_read *reads, **reads_tail;
    uv_work_t work;
    int busy;
    pending_msg *batch_msgs;
    pending_read *batch_reads;
    int write_failed;
    int closing;
    void (*done)(void *);
    void *done_ud;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS messages ("
                             "  id INTEGER PRIMARY KEY,"
                             "  room TEXT NOT NULL,"
                             "  name TEXT NOT NULL,"
                             "  text TEXT NOT NULL,"
                             "  ts INTEGER NOT NULL);"
                             "CREATE INDEX IF NOT EXISTS messages_room_id ON messages(room, id);"
                             "CREATE INDEX IF NOT EXISTS messages_ts ON messages(ts);"
                             "CREATE TABLE IF NOT EXISTS chat_meta ("
                             "  key TEXT PRIMARY KEY,"
                             "  value INTEGER NOT NULL);";

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Messages with ts below this have expired. */
static int64_t expiry_cutoff(const chat_store *st) {
    return st->keep.max_age_ms > 0 ? now_ms() - st->keep.max_age_ms : INT64_MIN;
}

static int64_t query_int(sqlite3 *db, const char *sql, int64_t fallback) {
    sqlite3_stmt *q;
    int64_t v = fallback;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
            v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    return v;
}

/* Runs a prepared DELETE, returns the rows it removed (0 on error). */
static int64_t run_delete(chat_store *st, sqlite3_stmt *stmt) {
    int64_t n = sqlite3_step(stmt) == SQLITE_DONE ? sqlite3_changes(st->db) : 0;
    sqlite3_reset(stmt);
    st->rows -= n;
    return n;
}

static void prune_age(chat_store *st) {
    if (st->keep.max_age_ms <= 0) return;
    sqlite3_bind_int64(st->prune_age, 1, expiry_cutoff(st));
    run_delete(st, st->prune_age);
}

static void prune_total(chat_store *st) {
    if (st->rows <= st->keep.total) return;
    sqlite3_bind_int64(st->prune_oldest, 1, st->rows - st->keep.total);
    run_delete(st, st->prune_oldest);
}

static void prune_room(chat_store *st, const char *room) {
    sqlite3_bind_text(st->prune_room, 1, room, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st->prune_room, 2, st->keep.per_room);
    run_delete(st, st->prune_room);
}

/* At open: every rule over the whole table (a smaller cap given this time
 * takes effect at once). */
static int prune_all(chat_store *st) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "DELETE FROM messages WHERE id IN (SELECT id FROM (SELECT id, "
                           "ROW_NUMBER() OVER (PARTITION BY room ORDER BY id DESC) AS n "
                           "FROM messages) WHERE n > ?1)",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, st->keep.per_room);
    int ok = sqlite3_step(q) == SQLITE_DONE;
    sqlite3_finalize(q);
    if (!ok) return -1;
    st->rows = query_int(st->db, "SELECT COUNT(*) FROM messages", 0);
    prune_age(st);
    prune_total(st);
    return 0;
}

chat_store *chat_store_open(uv_loop_t *loop, const char *path, const chat_retention *keep,
                            const char **err) {
    chat_store *st = calloc(1, sizeof *st);
    if (!st) {
        *err = "out of memory";
        return NULL;
    }
    st->loop = loop;
    st->keep = *keep;
    if (st->keep.per_room < 1) st->keep.per_room = 1;
    if (st->keep.total < 1) st->keep.total = 1;
    st->msgs_tail = &st->msgs;
    st->reads_tail = &st->reads;
    /* the handle moves between the loop thread (open/close) and one worker at a time */
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        *err = st->db ? sqlite3_errmsg(st->db) : "cannot open the database";
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO messages(id, room, name, text, ts) VALUES (?,?,?,?,?)", -1,
                           &st->insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(
            st->db,
            "SELECT id, room, name, text, ts FROM (SELECT * FROM messages WHERE room = ?1 "
            "AND ts >= ?3 ORDER BY id DESC LIMIT ?2) ORDER BY id ASC",
            -1, &st->last_n, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(
            st->db,
            "SELECT id, room, name, text, ts FROM messages WHERE room = ?1 AND id > ?2 "
            "AND ts >= ?4 ORDER BY id ASC LIMIT ?3",
            -1, &st->after_id, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "DELETE FROM messages WHERE room = ?1 AND id <= (SELECT id FROM "
                           "messages WHERE room = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                           -1, &st->prune_room, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "DELETE FROM messages WHERE id IN (SELECT id FROM messages "
                           "ORDER BY id ASC LIMIT ?1)",
                           -1, &st->prune_oldest, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "DELETE FROM messages WHERE ts < ?1", -1, &st->prune_age,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO chat_meta(key, value) VALUES ('next_id', ?1) "
                           "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
                           -1, &st->save_next_id, NULL) != SQLITE_OK) {
        *err = sqlite3_errmsg(st->db);
        goto fail;
    }
    /* the next id: past every stored message and every id ever given */
    int64_t from_rows = query_int(st->db, "SELECT COALESCE(MAX(id), 0) + 1 FROM messages", 1);
    int64_t from_meta = query_int(st->db, "SELECT value FROM chat_meta WHERE key = 'next_id'", 1);
    st->next_id = from_rows > from_meta ? from_rows : from_meta;
    if (prune_all(st) != 0) {
        *err = sqlite3_errmsg(st->db);
        goto fail;
    }
    return st;
fail:
    sqlite3_finalize(st->insert);
    sqlite3_finalize(st->last_n);
    sqlite3_finalize(st->after_id);
    sqlite3_finalize(st->prune_room);
    sqlite3_finalize(st->prune_oldest);
    sqlite3_finalize(st->prune_age);
    sqlite3_finalize(st->save_next_id);
    if (st->db) {
        static char msg[256];
        snprintf(msg, sizeof msg, "%s", *err);
        *err = msg;
        sqlite3_close(st->db);
    }
    free(st);
    return NULL;
}

int64_t chat_store_next_id(chat_store *st) {
    return st->next_id++;
}

/* ---- the worker side --------------------------------------------------------------- */

static json_t *read_rows(sqlite3_stmt *stmt) {
    json_t *arr = json_array();
    while (arr && sqlite3_step(stmt) == SQLITE_ROW) {
        json_t *m = json_pack("{sI ss ss ss sI}", "id", (json_int_t)sqlite3_column_int64(stmt, 0),
                              "room", (const char *)sqlite3_column_text(stmt, 1), "name",
                              (const char *)sqlite3_column_text(stmt, 2), "text",
                              (const char *)sqlite3_column_text(stmt, 3), "ts",
                              (json_int_t)sqlite3_column_int64(stmt, 4));
        if (m) json_array_append_new(arr, m);
    }
    sqlite3_reset(stmt);
    return arr;
}

static void batch_run(uv_work_t *w) {
    chat_store *st = w->data;
    if (st->batch_msgs) {
        int64_t rows = st->rows, last_id = 0;
        int ok = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
        for (pending_msg *m = st->batch_msgs; ok && m; m = m->next) {
            sqlite3_bind_int64(st->insert, 1, m->id);
            sqlite3_bind_text(st->insert, 2, m->room, -1, SQLITE_STATIC);
            sqlite3_bind_text(st->insert, 3, m->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st->insert, 4, m->text, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st->insert, 5, m->ts);
            ok = sqlite3_step(st->insert) == SQLITE_DONE;
            sqlite3_reset(st->insert);
            st->rows++;
            if (m->id > last_id) last_id = m->id;
        }
        if (ok) {
            sqlite3_bind_int64(st->save_next_id, 1, last_id + 1);
            ok = sqlite3_step(st->save_next_id) == SQLITE_DONE;
            sqlite3_reset(st->save_next_id);
        }
        if (ok) {
            /* retention: a failed delete only leaves rows for the next batch */
            const char *prev = NULL; /* a run of one room is cut once */
            for (pending_msg *m = st->batch_msgs; m; m = m->next) {
                if (prev && strcmp(prev, m->room) == 0) continue;
                prune_room(st, m->room);
                prev = m->room;
            }
            prune_age(st);
            prune_total(st);
        }
        ok = ok && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
        if (!ok) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            st->rows = rows;
            st->write_failed = 1;
        }
    }
    int64_t cutoff = expiry_cutoff(st);
    for (pending_read *r = st->batch_reads; r; r = r->next) {
        sqlite3_stmt *stmt = r->after > 0 ? st->after_id : st->last_n;
        sqlite3_bind_text(stmt, 1, r->room, -1, SQLITE_STATIC);
        if (r->after > 0) {
            sqlite3_bind_int64(stmt, 2, r->after);
            sqlite3_bind_int(stmt, 3, r->limit);
            sqlite3_bind_int64(stmt, 4, cutoff);
        } else {
            sqlite3_bind_int(stmt, 2, r->limit);
            sqlite3_bind_int64(stmt, 3, cutoff);
        }
        r->result = read_rows(stmt);
    }
}

/* ---- the loop side ---------------------------------------------------------------- */

static void batch_start(chat_store *st);

static void finish_close(chat_store *st) {
    sqlite3_finalize(st->insert);
    sqlite3_finalize(st->last_n);
    sqlite3_finalize(st->after_id);
    sqlite3_finalize(st->prune_room);
    sqlite3_finalize(st->prune_oldest);
    sqlite3_finalize(st->prune_age);
    sqlite3_finalize(st->save_next_id);
    sqlite3_close(st->db);
    void (*done)(void *) = st->done;
    void *ud = st->done_ud;
    free(st);
    if (done) done(ud);
}

static void batch_done(uv_work_t *w, int status) {
    chat_store *st = w->data;
    st->busy = 0;
    if (st->write_failed) {
        fprintf(stderr, "sio-chat: writing messages failed: %s\n", sqlite3_errmsg(st->db));
        st->write_failed = 0;
    }
    pending_msg *m = st->batch_msgs;
    while (m) {
        pending_msg *n = m->next;
        free(m->room);
        free(m->name);
        free(m->text);
        free(m);
        m = n;
    }
    pending_read *r = st->batch_reads;
    while (r) {
        pending_read *n = r->next;
        r->cb(r->result, r->userdata);
        json_decref(r->result);
        free(r->room);
        free(r);
        r = n;
    }
    st->batch_msgs = NULL;
    st->batch_reads = NULL;
    if (st->msgs || st->reads)
        batch_start(st);
    else if (st->closing)
        finish_close(st);
}

static void batch_start(chat_store *st) {
    if (st->busy || (!st->msgs && !st->reads)) return;
    st->busy = 1;
    st->batch_msgs = st->msgs;
    st->batch_reads = st->reads;
    st->msgs = NULL;
    st->msgs_tail = &st->msgs;
    st->reads = NULL;
    st->reads_tail = &st->reads;
    st->work.data = st;
    uv_queue_work(st->loop, &st->work, batch_run, batch_done);
}

int chat_store_append(chat_store *st, int64_t id, const char *room, const char *name,
                      const char *text, int64_t ts) {
    pending_msg *m = calloc(1, sizeof *m);
    if (!m || !(m->room = strdup(room)) || !(m->name = strdup(name)) || !(m->text = strdup(text))) {
        if (m) {
            free(m->room);
            free(m->name);
        }
        free(m);
        return -1;
    }
    m->id = id;
    m->ts = ts;
    *st->msgs_tail = m;
    st->msgs_tail = &m->next;
    batch_start(st);
    return 0;
}

int chat_store_history(chat_store *st, const char *room, int64_t after, int limit,
                       chat_history_cb cb, void *userdata) {
    pending_read *r = calloc(1, sizeof *r);
    if (!r || !(r->room = strdup(room))) {
        free(r);
        return -1;
    }
    r->after = after;
    r->limit = limit;
    r->cb = cb;
    r->userdata = userdata;
    *st->reads_tail = r;
    st->reads_tail = &r->next;
    batch_start(st);
    return 0;
}

void chat_store_close(chat_store *st, void (*done)(void *), void *userdata) {
    st->closing = 1;
    st->done = done;
    st->done_ud = userdata;
    if (!st->busy && !st->msgs && !st->reads) finish_close(st);
}
