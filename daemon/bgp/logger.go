package bgp

import (
	"log/slog"

	glog "github.com/osrg/gobgp/v3/pkg/log"
)

// logger hands GoBGP's log to slog: its info is our debug (it is chatty),
// its warnings and errors stay.
type logger struct{ l *slog.Logger }

func attrs(f glog.Fields) []any {
	out := make([]any, 0, 2*len(f))
	for k, v := range f {
		out = append(out, k, v)
	}
	return out
}

func (g *logger) Panic(msg string, f glog.Fields) { g.l.Error("gobgp: "+msg, attrs(f)...) }
func (g *logger) Fatal(msg string, f glog.Fields) { g.l.Error("gobgp: "+msg, attrs(f)...) }
func (g *logger) Error(msg string, f glog.Fields) { g.l.Error("gobgp: "+msg, attrs(f)...) }
func (g *logger) Warn(msg string, f glog.Fields)  { g.l.Warn("gobgp: "+msg, attrs(f)...) }
func (g *logger) Info(msg string, f glog.Fields)  { g.l.Debug("gobgp: "+msg, attrs(f)...) }
func (g *logger) Debug(msg string, f glog.Fields) { g.l.Debug("gobgp: "+msg, attrs(f)...) }
func (g *logger) SetLevel(glog.LogLevel)          {}
func (g *logger) GetLevel() glog.LogLevel         { return glog.InfoLevel }
