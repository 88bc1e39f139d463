package server

import (
	"context"
	"strings"
	"testing"
	"unicode"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// FuzzCheckLimits: a CNI or VM request passes the limits only when every
// field is within its length and characters; a refusal is InvalidArgument
// naming a field of the request, and the handler does not run.
func FuzzCheckLimits(f *testing.F) {
	f.Add("abc123", "eth0", "/var/run/netns/x", "blue", "web", "10.0.0.5/24", "my pod", "aaaaaaaa-0000-4000-8000-000000000001")
	f.Add(strings.Repeat("a", 129), "eth0/", "", "blue\x00", "a b", "10.0.0.1;x", "pod\t", "x y")
	f.Fuzz(func(t *testing.T, id, ifname, netns, network, group, ip, name, iface string) {
		reqs := []any{
			&api.CNIRequest{ContainerId: id, Ifname: ifname, Netns: netns, Network: network, SecurityGroups: []string{group}, Ips: []string{ip}, Name: name},
			&api.VMRequest{Domain: name, Uuid: iface, Nics: []*api.VMNIC{{InterfaceId: iface, Network: network, Ips: []string{ip}, SecurityGroups: []string{group}}}},
		}
		for _, req := range reqs {
			ran := false
			_, err := CheckLimits(context.Background(), req, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) {
				ran = true
				return nil, nil
			})
			if err == nil {
				for _, s := range fieldsOf(req) {
					if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 || len(s) > defaultMax {
						t.Fatalf("%T with %q passed the limits", req, s)
					}
				}
				if !ran {
					t.Fatal("the handler did not run")
				}
				continue
			}
			msg := status.Convert(err).Message()
			if status.Code(err) != codes.InvalidArgument || ran || !strings.Contains(msg, ": ") {
				t.Fatalf("%T refused with %v (handler ran: %v)", req, err, ran)
			}
			if path := msg[:strings.Index(msg, ": ")]; strings.ContainsAny(path, " \t") || path == "" {
				t.Fatalf("refusal %q does not start with a field path", msg)
			}
		}
	})
}

// fieldsOf are the request's string fields.
func fieldsOf(req any) []string {
	switch r := req.(type) {
	case *api.CNIRequest:
		return append(append([]string{r.ContainerId, r.Ifname, r.Netns, r.Network, r.Name}, r.SecurityGroups...), r.Ips...)
	case *api.VMRequest:
		n := r.Nics[0]
		return append(append([]string{r.Domain, r.Uuid, n.InterfaceId, n.Network}, n.Ips...), n.SecurityGroups...)
	}
	return nil
}
