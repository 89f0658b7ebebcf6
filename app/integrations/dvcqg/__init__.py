"""The national public service portal's dossier sync format (DongBoHoSoMC), mapped onto the contract."""
