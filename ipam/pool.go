package ipam

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// Pool errors.
var (
	ErrInUse         = errs.New(errs.Conflict, "address already in use")
	ErrReserved      = errs.New(errs.Invalid, "address is reserved")
	ErrOutOfRange    = errs.New(errs.Invalid, "address outside the allocation range")
	ErrNotAllocated  = errs.New(errs.NotFound, "address is not allocated")
	ErrRangeTooLarge = errs.New(errs.Invalid, "allocation range too large")
)

// MaxPoolSize bounds the addresses one pool tracks (a 2 MiB bitmap);
// DefaultV6PoolSize is the allocation range of an IPv6 subnet larger than
// that when no range is given (the first addresses of the subnet).
const (
	MaxPoolSize       = 1 << 24
	DefaultV6PoolSize = 1 << 20
)

// Range is an inclusive range of addresses.
type Range struct{ First, Last netip.Addr }

// String renders "first-last".
func (r Range) String() string { return r.First.String() + "-" + r.Last.String() }

// Contains reports whether a is inside r.
func (r Range) Contains(a netip.Addr) bool {
	return a.BitLen() == r.First.BitLen() && r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0
}

// PoolConfig describes the addresses of one subnet a pool hands out.
type PoolConfig struct {
	Subnet  netip.Prefix
	Gateway netip.Addr // optional; never handed out
	Range   Range      // optional allocation range inside Subnet (zero: the whole subnet)
	Exclude []Range    // never handed out
}

// Stats counts a pool's addresses: Free + Used + Reserved == Size.
type Stats struct {
	Size, Used, Reserved, Free uint64
}

// Pool hands out the addresses of one subnet. The next free address is
// found in amortised O(1) with a two-level bitmap, starting after the last
// one handed out (round robin), so a released address is reused only after
// the rest of the free space. A Pool is not safe for concurrent use.
type Pool struct {
	cfg      PoolConfig
	first    netip.Addr
	size     uint64
	used     []uint64 // bit set: allocated or reserved (or padding past size)
	reserved []uint64 // bit set: reserved (network, broadcast, gateway, excluded)
	full     []uint64 // bit i set: used[i] has no free bit
	cursor   uint64
	nUsed    uint64
	nRes     uint64
}

// NewPool validates c and returns an empty pool.
func NewPool(c PoolConfig) (*Pool, error) {
	p := c.Subnet
	if !p.IsValid() || p.Masked() != p {
		return nil, fmt.Errorf("subnet %s: not a valid subnet", p)
	}
	first, last := p.Addr(), lastAddr(p)
	if c.Range.First.IsValid() || c.Range.Last.IsValid() {
		if !c.Range.First.IsValid() || !c.Range.Last.IsValid() || c.Range.Last.Less(c.Range.First) {
			return nil, fmt.Errorf("range %s: want FIRST-LAST with FIRST <= LAST", c.Range)
		}
		if !p.Contains(c.Range.First) || !p.Contains(c.Range.Last) {
			return nil, fmt.Errorf("range %s: not inside subnet %s", c.Range, p)
		}
		first, last = c.Range.First, c.Range.Last
	}
	size, ok := span(first, last)
	if !ok || size > MaxPoolSize {
		if c.Range.First.IsValid() || !p.Addr().Is6() {
			return nil, fmt.Errorf("range %s-%s: %w (at most %d addresses)", first, last, ErrRangeTooLarge, MaxPoolSize)
		}
		size = DefaultV6PoolSize
	}
	if c.Gateway.IsValid() && !p.Contains(c.Gateway) {
		return nil, fmt.Errorf("gateway %s: outside subnet %s", c.Gateway, p)
	}
	for _, r := range c.Exclude {
		if !r.First.IsValid() || !r.Last.IsValid() || r.Last.Less(r.First) || !p.Contains(r.First) || !p.Contains(r.Last) {
			return nil, fmt.Errorf("exclude %s: want FIRST-LAST inside subnet %s", r, p)
		}
	}
	words := (size + 63) / 64
	pool := &Pool{cfg: c, first: first, size: size,
		used: make([]uint64, words), reserved: make([]uint64, words), full: make([]uint64, (words+63)/64)}
	if pad := size % 64; pad != 0 {
		pool.used[words-1] = ^uint64(0) << pad
		pool.reserved[words-1] = pool.used[words-1]
		pool.updateFull(words - 1)
	}
	// Never handed out: the network address (IPv4 up to /30, IPv6 up to
	// /126: the subnet-router anycast), the IPv4 broadcast, the gateway,
	// and the excluded ranges. /31 and /127 are point-to-point (RFC 3021,
	// RFC 6164): both addresses are hosts.
	if (p.Addr().Is4() && p.Bits() <= 30) || (p.Addr().Is6() && p.Bits() <= 126) {
		pool.reserve(p.Addr())
	}
	if p.Addr().Is4() && p.Bits() <= 30 {
		pool.reserve(lastAddr(p))
	}
	if c.Gateway.IsValid() {
		pool.reserve(c.Gateway)
	}
	for _, r := range c.Exclude {
		pool.reserveRange(r)
	}
	return pool, nil
}

// span is the number of addresses first..last, if it fits in 63 bits.
func span(first, last netip.Addr) (uint64, bool) {
	f, l := first.As16(), last.As16()
	for i := 0; i < 8; i++ {
		if f[i] != l[i] {
			return 0, false
		}
	}
	var fv, lv uint64
	for i := 8; i < 16; i++ {
		fv = fv<<8 | uint64(f[i])
		lv = lv<<8 | uint64(l[i])
	}
	if lv-fv >= 1<<62 {
		return 0, false
	}
	return lv - fv + 1, true
}

// index maps a to its bit, if inside the pool's range.
func (p *Pool) index(a netip.Addr) (uint64, bool) {
	if a.BitLen() != p.first.BitLen() || a.Less(p.first) {
		return 0, false
	}
	d, ok := span(p.first, a)
	if !ok || d > p.size {
		return 0, false
	}
	return d - 1, true
}

// addr maps bit i back to its address.
func (p *Pool) addr(i uint64) netip.Addr {
	b := p.first.As16()
	carry := i
	for j := 15; j >= 0 && carry > 0; j-- {
		s := uint64(b[j]) + carry&0xff
		b[j] = byte(s)
		carry = carry>>8 + s>>8
	}
	a := netip.AddrFrom16(b)
	if p.first.Is4() {
		a = a.Unmap()
	}
	return a
}

func (p *Pool) isSet(bm []uint64, i uint64) bool { return bm[i/64]&(1<<(i%64)) != 0 }

func (p *Pool) updateFull(w uint64) {
	if p.used[w] == ^uint64(0) {
		p.full[w/64] |= 1 << (w % 64)
	} else {
		p.full[w/64] &^= 1 << (w % 64)
	}
}

func (p *Pool) set(i uint64) {
	p.used[i/64] |= 1 << (i % 64)
	p.updateFull(i / 64)
}

func (p *Pool) clear(i uint64) {
	p.used[i/64] &^= 1 << (i % 64)
	p.updateFull(i / 64)
}

func (p *Pool) reserve(a netip.Addr) {
	if i, ok := p.index(a); ok {
		p.reserveAt(i)
	}
}

func (p *Pool) reserveAt(i uint64) {
	if p.isSet(p.reserved, i) {
		return
	}
	if p.isSet(p.used, i) {
		p.nUsed--
	}
	p.reserved[i/64] |= 1 << (i % 64)
	p.set(i)
	p.nRes++
}

// reserveRange reserves the part of r inside the pool's range, a word of
// 64 addresses at a time: its cost is bounded by the pool's size, not by
// r's (an IPv6 exclude from far below the range once walked 2^64 addresses).
func (p *Pool) reserveRange(r Range) {
	if r.First.BitLen() != p.first.BitLen() {
		return
	}
	first, last := r.First, r.Last
	if first.Less(p.first) {
		first = p.first
	}
	if end := p.addr(p.size - 1); end.Less(last) {
		last = end
	}
	if last.Less(first) {
		return
	}
	i, _ := p.index(first)
	j, _ := p.index(last)
	for i <= j {
		if i%64 == 0 && j-i >= 63 {
			w := i / 64
			fresh := ^p.reserved[w]
			p.nRes += uint64(bits.OnesCount64(fresh))
			p.nUsed -= uint64(bits.OnesCount64(p.used[w] & fresh))
			p.reserved[w], p.used[w] = ^uint64(0), ^uint64(0)
			p.updateFull(w)
			i += 64
			continue
		}
		p.reserveAt(i)
		i++
	}
}

// Allocate hands out the next free address after the last one handed out,
// wrapping around; ErrExhausted when none is left.
func (p *Pool) Allocate() (netip.Addr, error) {
	i, ok := p.nextFree(p.cursor)
	if !ok {
		return netip.Addr{}, fmt.Errorf("subnet %s: %w", p.cfg.Subnet, ErrExhausted)
	}
	p.set(i)
	p.nUsed++
	p.cursor = i + 1
	if p.cursor == p.size {
		p.cursor = 0
	}
	return p.addr(i), nil
}

// nextFree finds the first clear bit at or after start, wrapping around.
func (p *Pool) nextFree(start uint64) (uint64, bool) {
	words := uint64(len(p.used))
	w := start / 64
	if free := ^p.used[w] &^ (1<<(start%64) - 1); free != 0 {
		return w*64 + uint64(bits.TrailingZeros64(free)), true
	}
	// Words after w, then from 0 up to w itself (its bits below start).
	c, ok := p.nextNotFull(w+1, words)
	if !ok {
		c, ok = p.nextNotFull(0, w+1)
	}
	if !ok {
		return 0, false
	}
	return c*64 + uint64(bits.TrailingZeros64(^p.used[c])), true
}

// nextNotFull returns the first word in [from, to) with a clear bit, using
// the summary bitmap: 64 words per step.
func (p *Pool) nextNotFull(from, to uint64) (uint64, bool) {
	for s := from; s < to; {
		sw := s / 64
		if notFull := ^p.full[sw] &^ (1<<(s%64) - 1); notFull != 0 {
			c := sw*64 + uint64(bits.TrailingZeros64(notFull))
			return c, c < to
		}
		s = (sw + 1) * 64
	}
	return 0, false
}

// Last returns the address handed out last by Allocate (invalid if none).
func (p *Pool) Last() netip.Addr {
	if p.cursor == 0 {
		if p.nUsed == 0 {
			return netip.Addr{}
		}
		return p.addr(p.size - 1)
	}
	return p.addr(p.cursor - 1)
}

// ResumeAfter makes Allocate continue after a (the Last of an earlier pool
// over the same range), keeping round robin across restarts and daemons.
func (p *Pool) ResumeAfter(a netip.Addr) {
	if i, ok := p.index(a); ok {
		p.cursor = (i + 1) % p.size
	}
}

// Claim marks a as allocated (a requested address, or state rebuilt from
// the store).
func (p *Pool) Claim(a netip.Addr) error {
	i, ok := p.index(a)
	if !ok {
		return fmt.Errorf("%s: %w %s", a, ErrOutOfRange, p.RangeString())
	}
	if p.isSet(p.reserved, i) {
		return fmt.Errorf("%s: %w", a, ErrReserved)
	}
	if p.isSet(p.used, i) {
		return fmt.Errorf("%s: %w", a, ErrInUse)
	}
	p.set(i)
	p.nUsed++
	return nil
}

// Release frees a; it will be handed out again only after the rest of the
// free space.
func (p *Pool) Release(a netip.Addr) error {
	i, ok := p.index(a)
	if !ok {
		return fmt.Errorf("%s: %w %s", a, ErrOutOfRange, p.RangeString())
	}
	if p.isSet(p.reserved, i) {
		return fmt.Errorf("%s: %w", a, ErrReserved)
	}
	if !p.isSet(p.used, i) {
		return fmt.Errorf("%s: %w", a, ErrNotAllocated)
	}
	p.clear(i)
	p.nUsed--
	return nil
}

// State tells what a is to the pool.
type State int

// Address states.
const (
	StateOutside State = iota
	StateFree
	StateUsed
	StateReserved
)

// State returns whether a is free, used, reserved or outside the range.
func (p *Pool) State(a netip.Addr) State {
	i, ok := p.index(a)
	switch {
	case !ok:
		return StateOutside
	case p.isSet(p.reserved, i):
		return StateReserved
	case p.isSet(p.used, i):
		return StateUsed
	}
	return StateFree
}

// Stats counts the pool's addresses.
func (p *Pool) Stats() Stats {
	return Stats{Size: p.size, Used: p.nUsed, Reserved: p.nRes, Free: p.size - p.nUsed - p.nRes}
}

// RangeString renders the allocation range.
func (p *Pool) RangeString() string {
	return p.first.String() + "-" + p.addr(p.size-1).String()
}

// LastAddr is the last address of the allocation range.
func (p *Pool) LastAddr() netip.Addr { return p.addr(p.size - 1) }

// Subnet is the pool's subnet.
func (p *Pool) Subnet() netip.Prefix { return p.cfg.Subnet }

// Clone is an independent copy of p.
func (p *Pool) Clone() *Pool {
	c := *p
	c.used = slices.Clone(p.used)
	c.reserved = slices.Clone(p.reserved)
	c.full = slices.Clone(p.full)
	c.cfg.Exclude = slices.Clone(p.cfg.Exclude)
	return &c
}
