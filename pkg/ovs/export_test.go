package ovs

// HoldBatches makes the batcher act as if a transaction were in flight:
// BatchedAddPort calls queue until ReleaseBatches.
func (c *Client) HoldBatches() {
	c.batch.mu.Lock()
	c.batch.busy = true
	c.batch.mu.Unlock()
}

// QueuedPorts is how many BatchedAddPort calls wait for the next batch.
func (c *Client) QueuedPorts() int {
	c.batch.mu.Lock()
	defer c.batch.mu.Unlock()
	return len(c.batch.queue)
}

// ReleaseBatches ends the pretended transaction: the queued calls go in
// one batch.
func (c *Client) ReleaseBatches() { c.batch.handOff() }
