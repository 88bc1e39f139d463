package nbstore

import (
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Subscriber is the part of the Northbound client that reports cache
// events (*ovn.NB).
type Subscriber interface {
	Subscribe(f func(table string, old, cur model.Model))
}

// ForgetDeleted drops a network's cached spec (network.FromSwitch) when its
// switch row leaves nb's cache, so that the cache holds no deleted network,
// and calls each of also with the network's name (other per-network
// caches: ipam/nbstore.Store.Forget).
func ForgetDeleted(nb Subscriber, also ...func(network string)) {
	nb.Subscribe(func(table string, old, cur model.Model) {
		if table != nbdb.LogicalSwitchTable || cur != nil {
			return
		}
		if ls, ok := old.(*nbdb.LogicalSwitch); ok {
			network.Forget(ls.UUID)
			if name := network.NameOf(ls); name != "" {
				for _, f := range also {
					f(name)
				}
			}
		}
	})
}
