// CertrollPKI
