// CertrollRollout
