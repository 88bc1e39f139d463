package events

import (
	"github.com/quantumnet/quantumnet/daemon/apiview"
	"github.com/quantumnet/quantumnet/daemon/lb"
)

// LBs are the load balancers.
type LBs interface {
	Get(name string) (lb.LoadBalancer, error)
	List() ([]lb.LoadBalancer, error)
	DNSNames(l *lb.LoadBalancer) []string
}

func (f *Feed) lbObject(l lb.LoadBalancer) *Object {
	return &Object{Kind: KindLoadBalancer, Name: l.Name, Networks: []string{l.Network}, Msg: apiview.LoadBalancer(l, f.LBs.DNSNames(&l))}
}

func (f *Feed) lbKind() ([]*Object, error) {
	if f.LBs == nil {
		return nil, nil
	}
	ls, err := f.LBs.List()
	if err != nil {
		return nil, err
	}
	objs := make([]*Object, 0, len(ls))
	for _, l := range ls {
		objs = append(objs, f.lbObject(l))
	}
	return objs, nil
}
