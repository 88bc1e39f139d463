package ovs

// CacheID identifies what the cache of table holds now: it changes when
// libovsdb purges and refills the cache on a reconnection, which it does
// without deletion events for the rows deleted meanwhile (a consumer of
// events rescans then). Nil before the first connection.
func (c *Conn) CacheID(table string) any {
	if !c.monitor.Load() || c.Cache() == nil {
		return nil
	}
	if rc := c.Cache().Table(table); rc != nil {
		return rc
	}
	return nil
}
