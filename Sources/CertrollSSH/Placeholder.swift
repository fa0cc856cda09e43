// CertrollSSH
