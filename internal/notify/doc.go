// Package notify tells every Sesame instance sharing a store that
// something they cache has changed, so they reload it now rather than when
// their cache's TTL runs out.
//
// A Bus carries (topic, payload) events. Postgres is the bus of a
// multi-instance deployment: Publish is pg_notify on the channel
// "sesame_events", and Run keeps one dedicated LISTEN connection (via
// github.com/jackc/pgxlisten, which reconnects by itself after an outage)
// and hands each event to the subscribers of its topic. Notifications are
// delivered only to sessions listening at that moment, so after every
// (re)connection each subscriber is called once with the empty payload,
// meaning "you may have missed something: reload everything". A TTL on
// each cache stays the backstop for anything still missed.
//
// Local is the bus of a single process (SQLite, tests): Publish calls the
// subscribers directly.
//
// Subscribers run on the bus's goroutine and must return quickly; hand
// slow work (a database reload) to a goroutine of your own.
//
// The package imports pgx only; it knows nothing of what the topics mean.
package notify
