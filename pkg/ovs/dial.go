// Package ovs is the typed client of the local Open_vSwitch database
// (bridges, ports, interfaces, chassis configuration), and the OVSDB
// connection helper the OVN client shares.
package ovs

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// Sentinel errors shared by the typed clients.
var (
	ErrNotFound     = errs.NotFound
	ErrExists       = errs.New(errs.Conflict, "already exists")
	ErrNotConnected = errs.New(errs.Unavailable, "not connected")
)

// DialConfig describes one OVSDB database connection.
type DialConfig struct {
	Name    string   // for logs and errors: "nb", "sb", "ovs"
	Remotes []string // unix:PATH, tcp:HOST:PORT, ssl:HOST:PORT; several for a cluster
	TLS     *tls.Config
	Logger  *slog.Logger
	// Tables to monitor; empty monitors nothing.
	Tables []model.Model
	// Where monitors the named tables (of Tables) only where a row
	// matches one of the conditions (see SetWhere); a table absent is
	// monitored whole.
	Where map[string][]ovsdb.Condition
	// Columns monitors the named tables' listed columns only (_uuid comes
	// always): the rest of a row is never sent, decoded or kept. List the
	// columns of the table's indexes too: the cache keeps them unique, and
	// rows missing them all clash. A table absent is monitored with every
	// column. Never write such a table through this client: its cached
	// rows are partial.
	Columns map[string][]string
	// LeaderOnly makes the client follow the Raft leader of a cluster.
	LeaderOnly bool
	// OnCache runs once, after the first connection and before the monitor
	// fills the cache (the cache survives reconnects): add event handlers here.
	OnCache func(*cache.TableCache)
	// Probe is the inactivity probe: every Probe the client sends an echo,
	// and a connection whose echo is not answered within Probe is dropped
	// and redialled (a
	// half-open connection would otherwise stall monitors and
	// transactions forever). Zero is DefaultProbe.
	Probe time.Duration
	// TxTimeout bounds a transaction whose ctx has no deadline (see
	// Transact). Zero is DefaultTxTimeout.
	TxTimeout time.Duration
}

// DefaultProbe and DefaultTxTimeout are DialConfig's defaults. The probe
// matches ovsdb-server's own default of 5 s for its clients.
const (
	DefaultProbe     = 5 * time.Second
	DefaultTxTimeout = 30 * time.Second
)

// monitorTimeout bounds the first monitor's load.
const monitorTimeout = 2 * time.Minute

// Conn is an OVSDB client that connects in the background and reconnects
// with exponential backoff, re-establishing its monitors.
type Conn struct {
	client.Client
	cfg     DialConfig
	monitor atomic.Bool // monitors established at least once
	hooked  bool
	cond    condMonitor
}

// ValidateRemote checks the syntax of one OVSDB remote.
func ValidateRemote(r string) error {
	proto, addr, ok := strings.Cut(r, ":")
	if !ok || addr == "" {
		return fmt.Errorf("%q: want unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT", r)
	}
	switch proto {
	case "unix":
		return nil
	case "tcp", "ssl":
		i := strings.LastIndex(addr, ":")
		if i <= 0 || i == len(addr)-1 {
			return fmt.Errorf("%q: want %s:HOST:PORT", r, proto)
		}
		return nil
	}
	return fmt.Errorf("%q: unknown transport %q (want unix, tcp or ssl)", r, proto)
}

// Dial creates the client and starts connecting in the background; it
// returns at once. Use Connected / WaitConnected to know when it is up.
func Dial(ctx context.Context, dbModel model.ClientDBModel, cfg DialConfig) (*Conn, error) {
	if len(cfg.Remotes) == 0 {
		return nil, fmt.Errorf("%s: no remote given", cfg.Name)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// libovsdb logs every transaction at debug level: keep it at info and above.
	log := logr.FromSlogHandler(minLevel{cfg.Logger.With("db", cfg.Name).Handler(), slog.LevelInfo})
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 100 * time.Millisecond
	bo.MaxInterval = 5 * time.Second
	bo.MaxElapsedTime = 0
	if cfg.Probe <= 0 {
		cfg.Probe = DefaultProbe
	}
	if cfg.TxTimeout <= 0 {
		cfg.TxTimeout = DefaultTxTimeout
	}
	// The inactivity probe is ours (see probe): libovsdb's own
	// (WithInactivityCheck, v0.8.1) panics with "send on closed channel"
	// when a transaction completes as the connection drops (seen killing a
	// Raft leader under load).
	opts := []client.Option{
		client.WithReconnect(5*time.Second, bo),
		client.WithLeaderOnly(cfg.LeaderOnly),
		client.WithLogger(&log),
	}
	opts = append(opts, metricsOptions(cfg.Name)...)
	for _, r := range cfg.Remotes {
		if err := ValidateRemote(r); err != nil {
			return nil, fmt.Errorf("%s remote %w", cfg.Name, err)
		}
		opts = append(opts, client.WithEndpoint(r))
	}
	if cfg.TLS != nil {
		opts = append(opts, client.WithTLSConfig(cfg.TLS))
	}
	c, err := client.NewOVSDBClient(dbModel, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Name, err)
	}
	conn := &Conn{Client: c, cfg: cfg}
	conn.cond.where = maps.Clone(cfg.Where)
	if conn.cond.where == nil {
		conn.cond.where = map[string][]ovsdb.Condition{}
	}
	go conn.run(ctx)
	go conn.probe(ctx)
	return conn, nil
}

// probe sends an echo every Probe interval and drops a connection whose
// echo is not answered within Probe; libovsdb then redials (WithReconnect),
// so a half-open connection is replaced within about twice the interval.
func (c *Conn) probe(ctx context.Context) {
	t := time.NewTicker(c.cfg.Probe)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.Client.CurrentEndpoint() == "" {
			continue // not connected, or redialling
		}
		ectx, cancel := context.WithTimeout(ctx, c.cfg.Probe)
		err := c.Client.Echo(ectx)
		cancel()
		if err != nil && ctx.Err() == nil && c.Client.CurrentEndpoint() != "" {
			c.cfg.Logger.Warn("inactivity probe unanswered, reconnecting", "db", c.cfg.Name,
				"endpoint", c.Client.CurrentEndpoint(), "probe", c.cfg.Probe, "err", err)
			c.Client.Disconnect()
		}
	}
}

// run makes the first connection (libovsdb reconnects on its own afterwards).
func (c *Conn) run(ctx context.Context) {
	delay := 100 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.Client.Connect(cctx)
		if err == nil {
			if c.cfg.OnCache != nil && !c.hooked {
				c.cfg.OnCache(c.Client.Cache())
				c.hooked = true
			}
			if len(c.cfg.Tables) > 0 {
				// The first load may take long (tens of thousands of
				// rows on a busy host): not the connect timeout.
				mctx, mcancel := context.WithTimeout(ctx, monitorTimeout)
				err = c.monitorTables(mctx)
				mcancel()
			}
			if err == nil {
				cancel()
				c.monitor.Store(true)
				c.cfg.Logger.Info("connected", "db", c.cfg.Name, "endpoint", c.Client.CurrentEndpoint())
				return
			}
			c.Client.Disconnect()
		}
		cancel()
		c.cfg.Logger.Warn("cannot connect, retrying", "db", c.cfg.Name, "remotes", c.cfg.Remotes, "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func tables(ms []model.Model) []client.MonitorOption {
	out := make([]client.MonitorOption, 0, len(ms))
	for _, m := range ms {
		out = append(out, client.WithTable(m))
	}
	return out
}

// Connected reports whether the connection is up and its cache is filled.
func (c *Conn) Connected() bool {
	// With reconnect enabled libovsdb keeps Connected() true while it
	// redials; its RPC client (and so CurrentEndpoint) is gone meanwhile.
	return c.monitor.Load() && c.Client.Connected() && c.Client.CurrentEndpoint() != ""
}

// WaitConnected blocks until Connected or ctx ends.
func (c *Conn) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !c.Connected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %v: %w", c.cfg.Name, c.cfg.Remotes, ErrNotConnected)
		case <-t.C:
		}
	}
	return nil
}

// Ready is nil once the connection is up and its cache filled, else
// ErrNotConnected (mutators call it first: libovsdb's builders need the cache).
func (c *Conn) Ready() error {
	if !c.Connected() {
		return fmt.Errorf("%s %v: %w", c.cfg.Name, c.cfg.Remotes, ErrNotConnected)
	}
	return nil
}

// Query returns the cached rows of T matching pred. Before the first
// connection there is no cache (libovsdb makes it on connect): that is
// ErrNotConnected, not a panic. It never waits for the server.
func Query[T any](c *Conn, pred func(*T) bool) ([]T, error) {
	if !c.monitor.Load() {
		return nil, fmt.Errorf("%s %v: %w", c.cfg.Name, c.cfg.Remotes, ErrNotConnected)
	}
	var rows []T
	if err := c.WhereCache(pred).List(context.Background(), &rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// QueryShallow is Query without copying the rows: the results point into
// the cache and must be treated as read-only (libovsdb replaces, never
// mutates, a cached row). For scans of large tables.
func QueryShallow[T any](c *Conn, table string, pred func(*T) bool) ([]*T, error) {
	if !c.monitor.Load() {
		return nil, fmt.Errorf("%s %v: %w", c.cfg.Name, c.cfg.Remotes, ErrNotConnected)
	}
	tc := c.Cache()
	if tc == nil { // the client closed
		return nil, fmt.Errorf("%s %v: %w", c.cfg.Name, c.cfg.Remotes, ErrNotConnected)
	}
	rc := tc.Table(table)
	if rc == nil {
		return nil, nil
	}
	var out []*T
	for _, m := range rc.RowsShallow() {
		if t, ok := m.(*T); ok && pred(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Name is the database's name given in DialConfig.
func (c *Conn) Name() string { return c.cfg.Name }

// minLevel drops records below level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.level}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.level} }
