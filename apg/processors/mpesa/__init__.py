"""M-Pesa (Safaricom Daraja): HTTP client, pure payload mapping, and the processor."""
