//! UDP (filled in by the datagram work).
