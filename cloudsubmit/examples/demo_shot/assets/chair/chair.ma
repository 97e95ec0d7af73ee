//Maya ASCII 2023 scene
//Name: chair.ma
//Codeset: UTF-8
requires maya "2023";
requires -nodeType "aiStandardSurface" "mtoa" "5.2.1.1";
currentUnit -l centimeter -a degree -t film;
createNode transform -n "chair_geo";
createNode mesh -n "chair_geoShape" -p "chair_geo";
	setAttr -k off ".v";
	setAttr ".uvst[0].uvsn" -type "string" "map1";
	setAttr -s 4 ".uvst[0].uvsp[0:3]" -type "float2" 0 0 1 0 1 1
		 0 1;
	setAttr -s 4 ".vt[0:3]"  -5 0 5 5 0 5 -5 0 -5 5 0 -5;
	setAttr -s 4 ".ed[0:3]"  0 1 0 0 2 0 1 3 0 2 3 0;
createNode aiStandardSurface -n "chair_mtl";
createNode shadingEngine -n "chair_mtlSG";
	setAttr ".ihi" 0;
	setAttr ".ro" yes;
createNode file -n "chair_diffuse";
	setAttr ".ftn" -type "string" "sourceimages/chair/chair_diffuse.1001.png";
	setAttr ".uvt" 3;
	setAttr ".cs" -type "string" "sRGB";
createNode place2dTexture -n "place2dTexture1";
connectAttr "chair_diffuse.oc" "chair_mtl.base_color";
connectAttr "place2dTexture1.o" "chair_diffuse.uv";
// End of chair.ma
