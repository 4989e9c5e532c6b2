"""Patent-intensive product filing (专利密集型产品备案): products, cited rights, review."""
