package server

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Request limits: every string and list of every request is checked here,
// before a handler runs, so that no handler sees a megabyte container ID, a
// NUL in a name or a million security groups. The handlers still validate
// meaning (is this a valid network name?); this is only length and
// characters. A field is found by "Message.field", then "field", then the
// default.

// limit bounds a string field (max bytes, allowed characters) and, for a
// repeated field, its number of elements.
type limit struct {
	max   int
	chars *regexp.Regexp // nil: printable UTF-8
	items int            // repeated fields: at most this many (0: defaultItems)
}

const (
	defaultMax   = 1024 // bytes of any string not in the table
	defaultItems = 256  // elements of any list not in the table
)

var (
	// CNI's container IDs and network names (the CNI spec's regexp).
	idChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	// Names of networks, routers, groups, ports, chassis; UUIDs.
	nameChars = regexp.MustCompile(`^[A-Za-z0-9_.:-]*$`)
	// Interface names: no '/', ':' or white space (the CNI spec).
	ifnameChars = regexp.MustCompile(`^[^/:\s]*$`)
	// Addresses, CIDRs, ranges ("FIRST-LAST"), IP:PORT, [v6]:PORT.
	addrChars = regexp.MustCompile(`^[0-9A-Za-z.:/%_\[\] -]*$`)
	macChars  = regexp.MustCompile(`^[0-9A-Fa-f:.-]*$`)
	uuidChars = regexp.MustCompile(`^[0-9A-Fa-f-]*$`)
	dnsChars  = regexp.MustCompile(`^[A-Za-z0-9_.-]*$`)
)

var (
	nameLimit = limit{max: 64, chars: nameChars}
	addrLimit = limit{max: 100, chars: addrChars, items: 64}
)

var limits = map[string]limit{
	"container_id":        {max: 128, chars: idChars},
	"cni_network_name":    {max: 128, chars: idChars},
	"ifname":              {max: 15, chars: ifnameChars},
	"netns":               {max: 4096},
	"network":             nameLimit,
	"networks":            nameLimit,
	"router":              nameLimit,
	"group":               nameLimit,
	"preset":              nameLimit,
	"physnet":             nameLimit,
	"port":                {max: 128, chars: nameChars},
	"interface_id":        {max: 128, chars: nameChars},
	"security_groups":     {max: 64, chars: nameChars, items: 64},
	"name":                nameLimit,
	"CNIRequest.name":     {max: 253}, // a pod's name: the handler makes a DNS label of it
	"PortDNSName.name":    {max: 253}, // likewise
	"GatewayChassis.name": {max: 253, chars: nameChars},
	"domain":              {max: 256}, // a libvirt domain name
	"uuid":                {max: 36, chars: uuidChars},
	"nics":                {items: 64},
	"mac":                 {max: 32, chars: macChars},
	"dns_domain":          {max: 253, chars: dnsChars},
	"description":         {max: 1024},
	"rules":               {max: 1024, items: 1024},
	"routes":              {max: 128, items: 256},
	"valid":               {items: 1 << 16}, // CNI GC: every attachment of the host
	"port_mappings":       {items: 1024},
	"ips":                 addrLimit, "address": addrLimit, "address6": addrLimit, "fixed_ip": addrLimit, "nexthop": addrLimit, "prefix": addrLimit,
	"subnet4": addrLimit, "subnet6": addrLimit, "gateway4": addrLimit, "gateway6": addrLimit, "range4": addrLimit, "range6": addrLimit,
	"fip_range": addrLimit, "exclude": addrLimit, "dns_servers": addrLimit, "ntp_servers": addrLimit, "dns_upstream": addrLimit,
	"host_ip": addrLimit,
}

// CheckLimits is the unary server interceptor that refuses, with
// InvalidArgument naming the field, a request over its limits.
func CheckLimits(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if err := checkMessage(m.ProtoReflect(), ""); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	return handler(ctx, req)
}

// checkMessage checks every set field of m; prefix is m's path ("nics[1].").
func checkMessage(m protoreflect.Message, prefix string) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		err = checkField(fd, v, prefix)
		return err == nil
	})
	return err
}

func checkField(fd protoreflect.FieldDescriptor, v protoreflect.Value, prefix string) error {
	l := limitOf(fd)
	path := prefix + string(fd.Name())
	if fd.IsMap() {
		return nil // no request has one
	}
	if !fd.IsList() {
		return checkValue(fd, v, l, path)
	}
	list := v.List()
	items := l.items
	if items == 0 {
		items = defaultItems
	}
	if list.Len() > items {
		return fmt.Errorf("%s: %d elements, at most %d", path, list.Len(), items)
	}
	for i := 0; i < list.Len(); i++ {
		if err := checkValue(fd, list.Get(i), l, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, l limit, path string) error {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return checkMessage(v.Message(), path+".")
	case protoreflect.StringKind:
		return checkString(v.String(), l, path)
	}
	return nil
}

func checkString(s string, l limit, path string) error {
	max := l.max
	if max == 0 {
		max = defaultMax
	}
	if len(s) > max {
		return fmt.Errorf("%s: %d bytes, at most %d", path, len(s), max)
	}
	bad := !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0
	if !bad && l.chars != nil {
		bad = !l.chars.MatchString(s)
	}
	if bad {
		allowed := "printable characters"
		if l.chars != nil {
			allowed = "characters matching " + l.chars.String()
		}
		return fmt.Errorf("%s: %.64q: only %s", path, s, allowed)
	}
	return nil
}

func limitOf(fd protoreflect.FieldDescriptor) limit {
	if l, ok := limits[string(fd.ContainingMessage().Name())+"."+string(fd.Name())]; ok {
		return l
	}
	return limits[string(fd.Name())]
}
