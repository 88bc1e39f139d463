package ovn

// NetworkPortCount is how many ports network has (QuantumNet's, by
// keys.Network), in O(1) from the network index: a network's view is
// rebuilt at every port's coming and going (event streams), which must
// not cost O(its ports).
func (c *NB) NetworkPortCount(network string) int {
	if c.Ready() != nil {
		return 0
	}
	c.nets.mu.RLock()
	defer c.nets.mu.RUnlock()
	return len(c.nets.m[network])
}
