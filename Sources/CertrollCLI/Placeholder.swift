// CertrollCLI
