package dns

import (
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// replies records what a Resolver's Observer is told.
type replies struct {
	mu  sync.Mutex
	got map[string]int // "network rcode" -> replies
}

func (r *replies) DNSReply(network string, rcode int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[network+" "+dns.RcodeToString[rcode]]++
}

// TestObserverSeesEveryReply: each reply, over UDP and TCP, is reported
// once with the network and its rcode (a foreign name without upstream is
// REFUSED).
func TestObserverSeesEveryReply(t *testing.T) {
	rec := &replies{got: map[string]int{}}
	udp, tcp := serve(t, &Resolver{Observer: rec}, static(testRecords()))
	exchange(t, "udp", udp, query("web1.quantix.local.", dns.TypeA, 0, false))
	exchange(t, "tcp", tcp, query("nope.quantix.local.", dns.TypeA, 0, false))
	exchange(t, "udp", udp, query("example.org.", dns.TypeA, 0, false))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := map[string]int{"net1 NOERROR": 1, "net1 NXDOMAIN": 1, "net1 REFUSED": 1}
	if len(rec.got) != len(want) {
		t.Fatalf("observed %v, want %v", rec.got, want)
	}
	for k, n := range want {
		if rec.got[k] != n {
			t.Errorf("observed %v, want %v", rec.got, want)
		}
	}
}
