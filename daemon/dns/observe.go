package dns

// Observer is told the rcode of each reply a network's resolver sends
// (Resolver.Observer; daemon/metrics counts queries, answers by rcode and
// refusals).
type Observer interface {
	DNSReply(network string, rcode int)
}
