//Maya ASCII 2023 scene
//Name: shot010_lighting.ma
//Last modified: Mon, Nov 23, 2026 10:12:44 AM
//Codeset: UTF-8
file -rdi 1 -ns "chair" -rfn "chairRN" -op "v=0;" -typ "mayaAscii" "assets/chair/chair.ma";
file -r -ns "chair" -dr 1 -rfn "chairRN" -op "v=0;" -typ "mayaAscii" "assets/chair/chair.ma";
requires maya "2023";
requires -nodeType "aiSkyDomeLight" -nodeType "aiStandardSurface" "mtoa" "5.2.1.1";
currentUnit -l centimeter -a degree -t film;
fileInfo "application" "maya";
fileInfo "product" "Maya 2023";
createNode transform -s -n "persp";
	setAttr ".t" -type "double3" 28 21 28 ;
createNode camera -s -n "perspShape" -p "persp";
	setAttr -k off ".v" no;
	setAttr ".fl" 34.999999999999993;
	setAttr ".imn" -type "string" "persp";
	setAttr ".rnd" no;
createNode transform -n "shotCam";
	setAttr ".t" -type "double3" 0 12 40 ;
createNode camera -n "shotCamShape" -p "shotCam";
	setAttr ".imn" -type "string" "shotCam";
	setAttr ".den" -type "string" "shotCam_depth";
createNode transform -n "imagePlane1" -p "shotCamShape";
createNode imagePlane -n "imagePlaneShape1" -p "imagePlane1";
	setAttr ".imn" -type "string" "sourceimages/plates/plate.0001.png";
	setAttr ".ufe" yes;
	setAttr ".cov" -type "short2" 1920 1080 ;
createNode transform -n "skyDome";
createNode aiSkyDomeLight -n "skyDomeShape" -p "skyDome";
	setAttr -k off ".v";
	setAttr ".csh" no;
createNode file -n "skyDome_tex";
	setAttr ".ftn" -type "string" "sourceimages/env maps/sky dome.hdr";
	setAttr ".cs" -type "string" "scene-linear Rec.709-sRGB";
createNode place2dTexture -n "place2dTexture1";
createNode expression -n "imagePlaneShape1_frameExtension";
	setAttr -k on ".nds";
	setAttr ".ixp" -type "string" ".O[0]=frame";
createNode renderLayer -n "defaultRenderLayer";
	setAttr ".g" yes;
createNode reference -n "chairRN";
	setAttr ".ed" -type "dataReferenceEdits"
		"chairRN"
		"chairRN" 0;
createNode script -n "sceneConfigurationScriptNode";
	setAttr ".b" -type "string" "playbackOptions -min 1 -max 3 -ast 1 -aet 3 ";
	setAttr ".st" 6;
select -ne :time1;
	setAttr ".o" 1;
	setAttr ".unw" 1;
select -ne :defaultRenderGlobals;
	setAttr ".ren" -type "string" "arnold";
	setAttr ".outf" 51;
	setAttr ".imfkey" -type "string" "exr";
	setAttr ".an" yes;
	setAttr ".fs" 1;
	setAttr ".ef" 3;
	setAttr ".pff" yes;
	setAttr ".ifp" -type "string" "<Scene>/<RenderLayer>/beauty";
select -ne :defaultResolution;
	setAttr ".w" 1920;
	setAttr ".h" 1080;
select -ne :defaultColorMgtGlobals;
	setAttr ".cfe" yes;
	setAttr ".cfp" -type "string" "<MAYA_RESOURCES>/OCIO-configs/Maya2022-default/config.ocio";
	setAttr ".wsn" -type "string" "ACEScg";
connectAttr "skyDome_tex.oc" "skyDomeShape.col";
connectAttr ":time1.o" "imagePlaneShape1_frameExtension.tim";
connectAttr "imagePlaneShape1_frameExtension.out[0]" "imagePlaneShape1.fe";
connectAttr "place2dTexture1.o" "skyDome_tex.uv";
// End of shot010_lighting.ma
