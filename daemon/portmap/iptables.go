package portmap

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// Tables is what the rules need of iptables/ip6tables (a
// *iptables.IPTables of one family).
type Tables interface {
	ChainExists(table, chain string) (bool, error)
	NewChain(table, chain string) error
	ClearChain(table, chain string) error
	ClearAndDeleteChain(table, chain string) error
	List(table, chain string) ([]string, error)
	Exists(table, chain string, spec ...string) (bool, error)
	Insert(table, chain string, pos int, spec ...string) error
	Append(table, chain string, spec ...string) error
	DeleteIfExists(table, chain string, spec ...string) error
}

var _ Tables = (*iptables.IPTables)(nil)

// NewTables returns the iptables (V4) or ip6tables (V6) of the current
// network namespace, waiting for the xtables lock.
func NewTables(f Family) (Tables, error) {
	proto := iptables.ProtocolIPv4
	if f == V6 {
		proto = iptables.ProtocolIPv6
	}
	return iptables.New(iptables.IPFamily(proto), iptables.Timeout(10))
}

// Sync makes QuantumNet's chains of one family hold exactly desired (see
// Desired) and the built-in chains jump into them. A chain that already
// holds its rules is left alone; any other is rewritten whole (flushed,
// then filled), so stale rules go and missing ones come back. It returns
// how many chains it rewrote.
func Sync(t Tables, desired map[[2]string][]Rule) (int, error) {
	rewrote := 0
	for k, rules := range desired {
		table, chain := k[0], k[1]
		if ok, err := t.ChainExists(table, chain); err != nil {
			return rewrote, err
		} else if !ok {
			if err := t.NewChain(table, chain); err != nil {
				return rewrote, fmt.Errorf("iptables -t %s -N %s: %w", table, chain, err)
			}
		}
		have, err := t.List(table, chain)
		if err != nil {
			return rewrote, err
		}
		if same(have, chain, rules) {
			continue
		}
		rewrote++
		if err := t.ClearChain(table, chain); err != nil {
			return rewrote, err
		}
		for _, r := range rules {
			if err := t.Append(table, chain, r.Spec...); err != nil {
				return rewrote, fmt.Errorf("iptables -t %s %s: %w", table, r, err)
			}
		}
	}
	return rewrote, ensureJumps(t)
}

// same reports whether the listing of chain (`-S`: "-N CHAIN" then its
// rules) is rules, in order. Quotes are ignored (comments).
func same(have []string, chain string, rules []Rule) bool {
	var got []string
	for _, l := range have {
		if strings.HasPrefix(l, "-A ") {
			got = append(got, strings.ReplaceAll(l, `"`, ""))
		}
	}
	if len(got) != len(rules) {
		return false
	}
	for i, r := range rules {
		if got[i] != r.String() {
			return false
		}
	}
	return true
}

// ensureJumps puts the jumps into QuantumNet's chains first in their
// built-in chains.
func ensureJumps(t Tables) error {
	for _, j := range Jumps {
		ok, err := t.Exists(j.Table, j.From, j.Spec...)
		if err != nil {
			return err
		}
		if !ok {
			if err := t.Insert(j.Table, j.From, 1, j.Spec...); err != nil {
				return fmt.Errorf("iptables -t %s -I %s: %w", j.Table, j.From, err)
			}
		}
	}
	return nil
}

// Remove deletes the jumps and QuantumNet's chains of one family.
func Remove(t Tables) error {
	var fails []error
	for _, j := range Jumps {
		// A jump to a missing chain cannot exist (and cannot be checked).
		if ok, err := t.ChainExists(j.Table, j.Spec[len(j.Spec)-1]); err != nil || !ok {
			fails = append(fails, err)
			continue
		}
		fails = append(fails, t.DeleteIfExists(j.Table, j.From, j.Spec...))
	}
	for table, chains := range Chains {
		for _, c := range chains {
			if ok, err := t.ChainExists(table, c); err == nil && ok {
				fails = append(fails, t.ClearAndDeleteChain(table, c))
			}
		}
	}
	return errors.Join(fails...)
}
